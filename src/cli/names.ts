import { readFileSync, writeFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import type { RoamError } from '../errors.js';
import { namesError } from '../names/codes.js';
import type { KeyPair } from '../names/keys.js';
import type { StoreSpec } from '../names/store/open.js';
import { intFlag, portFlag, usageError } from './flags.js';
import { jsonOption, output, printJson } from './output.js';

const DEFAULT_SERVER = 'http://127.0.0.1:7447';
const serverOption = () =>
  new Option('--server <url>', 'name server').env('ROAM_NAMES_SERVER').default(DEFAULT_SERVER);
const collect = (value: string, previous: string[]) => [...previous, value];

async function loadKey(file: string): Promise<KeyPair> {
  const { keyPairFromPem } = await import('../names/keys.js');
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw namesError(
      'ROAM_NAMES_KEY_FILE',
      `cannot read key file ${file}: ${(err as Error).message}`,
    );
  }
  return keyPairFromPem(pem);
}

async function client(opts: { server: string; key?: string; userKey?: string }) {
  const { NamesClient } = await import('../names/client/client.js');
  return new NamesClient({
    server: opts.server,
    ...(opts.key ? { key: await loadKey(opts.key) } : {}),
    ...(opts.userKey ? { userKey: await loadKey(opts.userKey) } : {}),
  });
}

/** The name server's default limit on a record's lifetime (NameService maxTtlMs). */
const MAX_TTL_S = 30 * 24 * 3600;

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}

export function registerNames(program: Command): void {
  const names = program
    .command('names')
    .description('roam names: signed, watchable names for users, devices and services');

  names
    .command('serve')
    .addOption(jsonOption())
    .description('run a name server (HTTP/JSON API, docs/names-api.md) until interrupted')
    .option('--host <host>', 'address to listen on (loopback unless you mean it)', '127.0.0.1')
    .option('--port <port>', 'TCP port (0: any free port)', '7447')
    .addOption(
      new Option('--store <kind>', 'where records live (etcd: several servers share one store)')
        .choices(['sqlite', 'memory', 'etcd'])
        .default('sqlite'),
    )
    .option(
      '--db <file>',
      'SQLite database file, or :memory: (default $XDG_STATE_HOME/roam/names.db)',
    )
    .option(
      '--fsync',
      'SQLite: flush to disk before acknowledging each write (survives power loss, not only a crash of the server; slower)',
    )
    .addOption(
      new Option('--etcd-endpoints <urls>', 'etcd client URLs, comma-separated').env(
        'ROAM_NAMES_ETCD_ENDPOINTS',
      ),
    )
    .option('--etcd-prefix <prefix>', 'key prefix of this store in etcd', 'roam/names/')
    .option('--etcd-timeout <ms>', 'bound on one etcd operation, retries included', '3000')
    .option('--offline-after <ms>', 'a device with no heartbeat for this long is offline', '30000')
    .action(async (opts: ServeOpts) => {
      const { NameService } = await import('../names/service.js');
      const { startNamesServer } = await import('../names/http/server.js');
      const { defaultDbPath, openNameStore } = await import('../names/store/open.js');
      const port = portFlag('--port', opts.port);
      const offlineAfterMs = intFlag('--offline-after', opts.offlineAfter, {
        min: 1,
        max: 86_400_000,
        unit: 'ms',
      });
      const spec = storeSpec(opts, defaultDbPath);
      const store = await openNameStore(spec);
      const service = new NameService(store, { presence: { offlineAfterMs } });
      const server = await startNamesServer(service, { host: opts.host, port }).catch(
        async (err: unknown) => {
          await store.close();
          throw err;
        },
      );
      if (output.json) printJson({ listening: server.url, store: store.id });
      else process.stdout.write(`listening ${server.url}\n`);
      await untilSignal();
      await server.close();
      await store.close();
    });

  names
    .command('keygen')
    .addOption(jsonOption())
    .description(
      'make an Ed25519 key pair: writes the private key (PEM, mode 0600), prints the public key',
    )
    .argument('<file>', 'where to write the private key (never overwritten)')
    .action(async (file: string) => {
      const { generateKeyPair, privateKeyPem } = await import('../names/keys.js');
      const pair = generateKeyPair();
      try {
        writeFileSync(file, privateKeyPem(pair), { mode: 0o600, flag: 'wx' });
      } catch (err) {
        const exists = (err as { code?: string }).code === 'EEXIST';
        throw namesError(
          'ROAM_NAMES_KEY_FILE',
          exists
            ? `${file} already exists; keygen never overwrites a key (choose another file)`
            : `cannot write ${file}: ${(err as Error).message}`,
        );
      }
      if (output.json) printJson({ file, publicKey: pair.publicKey });
      else process.stdout.write(`${pair.publicKey}\n`);
    });

  names
    .command('publish')
    .addOption(jsonOption())
    .description('sign and publish a record (registers the name on first use)')
    .argument('<name>', 'bob@example.com, laptop.bob@example.com, or a bare service name')
    .requiredOption('--key <file>', 'the private key that signs (from keygen)')
    .option(
      '--user-key <file>',
      "the user's key, to certify --key for a device or service of that user",
    )
    .addOption(
      new Option('--kind <kind>', 'record kind (default: from the name)').choices([
        'user',
        'device',
        'service',
      ]),
    )
    .option(
      '--addr <spec>',
      'address IP:PORT[,wifi|cellular|ethernet|other[,PRIORITY]] (repeatable)',
      collect,
      [],
    )
    .option('--control <ip:port>', 'UDP control socket address')
    .option(
      '--relay <host:port>',
      'relay through which the host is reachable (repeatable)',
      collect,
      [],
    )
    .option('--attr <key=value>', 'free-form attribute (repeatable)', collect, [])
    .option('--ttl <seconds>', 'lifetime of the record', '3600')
    .addOption(serverOption())
    .action(async (name: string, opts: PublishOpts) => {
      const { parseAddressSpec, parseAttributes, parseHostPort } = await import('../names/spec.js');
      const ttlS = intFlag('--ttl', opts.ttl, { min: 1, max: MAX_TTL_S, unit: 'seconds' });
      const control = opts.control ? parseHostPort(opts.control, 'control address') : undefined;
      const c = await client(opts);
      try {
        const { record, result } = await c.publish({
          name,
          ...(opts.kind ? { kind: opts.kind } : {}),
          addresses: opts.addr.map(parseAddressSpec),
          ...(control ? { control: { ip: control.host, port: control.port } } : {}),
          relays: opts.relay.map((r) => parseHostPort(r, 'relay')),
          attributes: parseAttributes(opts.attr),
          ttlMs: ttlS * 1000,
        });
        if (output.json) printJson({ ...result, record });
        else
          process.stdout.write(
            `published ${result.name} version ${result.version} (revision ${result.revision})\n`,
          );
      } finally {
        c.close();
      }
    });

  names
    .command('resolve')
    .addOption(jsonOption())
    .description('look a name up and verify its signature')
    .argument('<name>')
    .addOption(serverOption())
    .action(async (name: string, opts: { server: string }) => {
      const c = await client(opts);
      try {
        const r = await c.resolve(name);
        if (output.json) return printJson(r);
        const lines = [
          `${r.name} (${r.kind}) version ${r.version}, expires ${new Date(r.expiresAt).toISOString()}`,
          `  key ${r.key}`,
        ];
        for (const a of [...r.addresses].sort((x, y) => x.priority - y.priority))
          lines.push(`  address ${hostPort(a.ip, a.port)} ${a.iface} priority ${a.priority}`);
        if (r.control) lines.push(`  control ${hostPort(r.control.ip, r.control.port)}`);
        for (const x of r.relays) lines.push(`  relay ${x.host}:${x.port}`);
        for (const [k, v] of Object.entries(r.attributes)) lines.push(`  ${k}=${v}`);
        process.stdout.write(`${lines.join('\n')}\n`);
      } finally {
        c.close();
      }
    });

  names
    .command('heartbeat')
    .addOption(jsonOption())
    .description(
      'say a device is online (signed with its key); with --every, keep saying so until interrupted',
    )
    .argument('<name>', 'the device, e.g. laptop.bob@example.com')
    .requiredOption('--key <file>', "the device's private key (the one its record names)")
    .option('--every <seconds>', 'repeat at this interval until interrupted')
    .addOption(serverOption())
    .action(async (name: string, opts: { key: string; every?: string; server: string }) => {
      const everyS =
        opts.every === undefined
          ? undefined
          : intFlag('--every', opts.every, { min: 1, max: 86_400, unit: 'seconds' });
      const c = await client(opts);
      try {
        await c.heartbeat(name);
        if (output.json) printJson({ name, online: true });
        else process.stdout.write(`${name}: online\n`);
        if (everyS === undefined) return;
        const timer = setInterval(() => {
          // A missed beat is said and the next one tried: the server marks it offline only
          // after --offline-after without any.
          c.heartbeat(name).catch((err: unknown) =>
            process.stderr.write(
              `roam: names heartbeat: ${(err as Error).message} [${(err as RoamError).code ?? 'ROAM_NAMES_UNREACHABLE'}]\n`,
            ),
          );
        }, everyS * 1000);
        await untilSignal().finally(() => clearInterval(timer));
      } finally {
        c.close();
      }
    });

  names
    .command('delete')
    .addOption(jsonOption())
    .description('delete a name with a signed tombstone (a new version that says "deleted")')
    .argument('<name>')
    .requiredOption('--key <file>', "the key that signs (the name's own, or its user's)")
    .option('--user-key <file>', "the user's key, to certify --key for a device or service")
    .addOption(serverOption())
    .action(async (name: string, opts: { key: string; userKey?: string; server: string }) => {
      const c = await client(opts);
      try {
        const result = await c.remove(name);
        if (output.json) printJson(result);
        else
          process.stdout.write(
            `deleted ${result.name} version ${result.version} (revision ${result.revision})\n`,
          );
      } finally {
        c.close();
      }
    });

  names
    .command('list-devices')
    .addOption(jsonOption())
    .description("a user's devices with their online state")
    .argument('<user>')
    .addOption(serverOption())
    .action(async (user: string, opts: { server: string }) => {
      const c = await client(opts);
      try {
        const devices = await c.listDevices(user);
        if (output.json) return printJson(devices);
        for (const d of devices)
          process.stdout.write(
            `${d.name} ${d.online ? 'online' : 'offline'}${d.expired ? ' (expired)' : ''}\n`,
          );
      } finally {
        c.close();
      }
    });

  names
    .command('watch')
    .addOption(jsonOption())
    .description('print every new version of these names until interrupted')
    .argument('<names...>')
    .addOption(serverOption())
    .action(async (list: string[], opts: { server: string }) => {
      const c = await client(opts);
      // An outage is said on stderr once, and its end too; the watch retries meanwhile.
      const w = c.watch(
        list,
        (ch) => {
          if (output.json) process.stdout.write(`${JSON.stringify(ch)}\n`);
          else
            process.stdout.write(
              `${[ch.type, ch.name, 'version', ch.record.version, ...ch.record.addresses.map((a) => hostPort(a.ip, a.port))].join(' ')}\n`,
            );
        },
        {
          onOutage: (err) =>
            process.stderr.write(
              `roam: names watch: ${err.message} [${(err as RoamError).code}]\n`,
            ),
          onResume: () =>
            process.stderr.write(
              `roam: names watch: connected to ${new URL(opts.server).origin}\n`,
            ),
        },
      );
      // After this host's address changes, the stream is silently dead (bound to the old
      // address): reopen it at once rather than after the idle timeout.
      const { watchAddresses } = await import('../mobility/index.js');
      const addresses = await watchAddresses();
      addresses.on('change', () => c.addressChanged());
      addresses.on('error', () => undefined); // it polls instead; the watch goes on
      try {
        // A refused watch (a bad name, a 4xx) ends the command with its error.
        await Promise.race([untilSignal(), w.ready.then(() => new Promise<void>(() => {}))]);
      } finally {
        addresses.close();
        w.close();
        c.close();
      }
    });
}

/** IP:PORT, with an IPv6 address in brackets. */
function hostPort(ip: string, port: number): string {
  return `${ip.includes(':') ? `[${ip}]` : ip}:${port}`;
}

interface ServeOpts {
  host: string;
  port: string;
  store: 'sqlite' | 'memory' | 'etcd';
  db?: string;
  fsync?: boolean;
  etcdEndpoints?: string;
  etcdPrefix: string;
  etcdTimeout: string;
  offlineAfter: string;
}

function storeSpec(opts: ServeOpts, defaultDbPath: () => string): StoreSpec {
  const memory = opts.store === 'memory' || opts.db === ':memory:';
  if (opts.fsync && (opts.store === 'etcd' || memory))
    throw namesError(
      'ROAM_NAMES_CONFIG',
      '--fsync is for a SQLite file (etcd syncs every write itself; memory has no disk)',
    );
  if (opts.store === 'memory' && opts.db !== undefined)
    throw usageError(
      `--db is for --store sqlite; --store memory keeps no file (got --db ${opts.db})`,
    );
  if (opts.store === 'etcd') {
    if (opts.db !== undefined)
      throw namesError(
        'ROAM_NAMES_CONFIG',
        '--db is for --store sqlite; etcd takes --etcd-endpoints',
      );
    if (!opts.etcdEndpoints)
      throw namesError(
        'ROAM_NAMES_CONFIG',
        '--store etcd needs --etcd-endpoints http://HOST:PORT[,...] (or ROAM_NAMES_ETCD_ENDPOINTS)',
      );
    return {
      kind: 'etcd',
      endpoints: opts.etcdEndpoints
        .split(',')
        .map((e) => e.trim())
        .filter(Boolean),
      prefix: opts.etcdPrefix,
      timeoutMs: intFlag('--etcd-timeout', opts.etcdTimeout, {
        min: 1,
        max: 600_000,
        unit: 'ms',
      }),
    };
  }
  if (memory) return { kind: 'memory' };
  return {
    kind: 'sqlite',
    file: opts.db ?? defaultDbPath(),
    synchronous: opts.fsync ? 'full' : 'normal',
  };
}

interface PublishOpts {
  key: string;
  userKey?: string;
  kind?: 'user' | 'device' | 'service';
  addr: string[];
  control?: string;
  relay: string[];
  attr: string[];
  ttl: string;
  server: string;
}
