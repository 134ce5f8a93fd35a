import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { RoamError } from '../errors.js';
import { rootLogger } from '../log/logger.js';
import { parseConfig, serveConfigSchema, upConfigSchema } from '../tunnel/config.js';
import { askControl, listenControl, NOT_RUNNING } from '../tunnel/control-socket.js';
import { servePlan, upPlan, type HostPlan } from '../tunnel/host-plan.js';
import {
  pidAlive,
  readState,
  readSysctl,
  recordedTunnels,
  restore,
  run,
  writeState,
  writeSysctl,
} from '../tunnel/host-state.js';
import { formatKey, generateKeyPair, keyPairFromPrivate, parseKey } from '../tunnel/keys.js';
import { MobileEnd } from '../tunnel/mobile-end.js';
import { ServeEnd } from '../tunnel/serve-end.js';
import { output, printJson } from './output.js';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) {
    throw new RoamError(
      'ROAM_NOT_ROOT',
      `roam tunnel ${what} opens a tun device and changes routing: run it as root`,
    );
  }
}

function readKeyFile(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new RoamError(
      'ROAM_TUNNEL_KEY',
      `cannot read the key file ${path}: ${(err as Error).message}`,
    );
  }
}

function hostPort(s: string, what: string): { ip: string; port: number } {
  const m = /^(.*):(\d{1,5})$/.exec(s);
  if (!m) throw new RoamError('ROAM_BAD_INPUT', `${what} must be IP:PORT, got '${s}'`);
  return { ip: m[1] ?? '', port: Number(m[2]) };
}

/** name=IF[,role=primary|backup][,cost=N][,weight=N], or just IF. */
function parseUplink(spec: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const part of spec.split(',')) {
    const [k, v] = part.includes('=') ? part.split('=', 2) : ['interface', part];
    if (k === 'cost' || k === 'weight') out[k] = Number(v);
    else out[k === 'name' ? 'interface' : (k ?? '')] = v;
  }
  return out;
}

/** Records the plan, applies it, and runs `end` until SIGINT/SIGTERM; then restores. */
async function runEnd(
  name: string,
  role: 'serve' | 'up',
  start: () => { device: string; status(): object; stop(): void; setMode?: MobileEnd['setMode'] },
  plan: (device: string) => HostPlan,
): Promise<void> {
  const old = readState(name);
  if (old && pidAlive(old.pid)) {
    throw new RoamError(
      'ROAM_TUNNEL_RUNNING',
      `tunnel ${name} already runs (pid ${old.pid}); stop it with roam tunnel down --name ${name}`,
    );
  }
  if (old) restore(old); // a crashed run's leftovers
  const end = start();
  const p = plan(end.device);
  const sysctls: Record<string, string> = {};
  for (const k of Object.keys(p.sysctls)) sysctls[k] = readSysctl(k);
  writeState({
    version: 1,
    name,
    role,
    pid: process.pid,
    device: end.device,
    createdAt: new Date().toISOString(),
    teardown: p.teardown,
    sysctls,
  });
  const log = rootLogger();
  let server;
  try {
    for (const [k, v] of Object.entries(p.sysctls)) writeSysctl(k, v);
    for (const c of p.setup) run(c);
    server = await listenControl(name, (req) => {
      if (req.op === 'status') return end.status();
      if (!end.setMode)
        throw new RoamError('ROAM_BAD_INPUT', "the serve end follows the mobile end's mode");
      end.setMode(req.mode, req.pin);
      return end.status();
    });
  } catch (err) {
    end.stop();
    const st = readState(name);
    if (st) restore(st);
    throw err;
  }
  process.stdout.write(
    `${JSON.stringify({ event: 'ready', name, role, device: end.device, pid: process.pid, ...('port' in end ? { port: end.port } : {}) })}\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.warn({ signal }, 'stopping tunnel');
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve();
    };
    const onInt = (): void => stop('SIGINT');
    const onTerm = (): void => stop('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
  server.close();
  end.stop();
  const st = readState(name);
  if (st) restore(st);
  process.stdout.write(`${JSON.stringify({ event: 'stopped', name })}\n`);
}

function runningName(name?: string): string {
  if (name) return name;
  const running = recordedTunnels().filter((n) => {
    const s = readState(n);
    return s !== undefined && pidAlive(s.pid);
  });
  if (running.length === 1 && running[0]) return running[0];
  throw new RoamError(
    NOT_RUNNING,
    running.length === 0
      ? 'no roam tunnel is running'
      : `several tunnels run (${running.join(', ')}): name one with --name`,
  );
}

export function registerTunnel(program: Command): void {
  const tn = program
    .command('tunnel')
    .description(
      'a packet tunnel over every uplink: any traffic, best-path, redundant or aggregate (root)',
    );

  tn.command('keygen')
    .description('print a new X25519 private key and its public key (base64)')
    .option('--public-from <file>', 'print the public key of this private key file instead')
    .action((o: { publicFrom?: string }) => {
      const k = o.publicFrom
        ? keyPairFromPrivate(parseKey(readKeyFile(o.publicFrom), o.publicFrom))
        : generateKeyPair();
      if (output.json)
        printJson({
          privateKey: o.publicFrom ? undefined : formatKey(k.privateKey),
          publicKey: formatKey(k.publicKey),
        });
      else
        process.stdout.write(
          o.publicFrom
            ? `${formatKey(k.publicKey)}\n`
            : `private ${formatKey(k.privateKey)}\npublic ${formatKey(k.publicKey)}\n`,
        );
    });

  tn.command('serve')
    .description(
      'the gateway end, in the foreground: answers peers, NATs their traffic; SIGINT/SIGTERM restore the host',
    )
    .requiredOption('--key <file>', "this end's private key file")
    .requiredOption('--listen <ip:port>', 'UDP address to listen on (0.0.0.0:PORT for all)')
    .requiredOption('--address <cidr>', "this end's tunnel address, as 10.99.0.1/24")
    .option('--peer <pubkey=ip>', "a peer's public key and tunnel address (repeat)", collect, [])
    .option('--nat-out <ifname>', 'MASQUERADE tunnel traffic out of this interface')
    .option('--name <name>', 'state folder name', 'serve')
    .option('--device <ifname>', 'tun device name', 'roamtun0')
    .option('--mtu <n>', 'tun MTU', '1400')
    .action(
      async (o: {
        key: string;
        listen: string;
        address: string;
        peer: string[];
        natOut?: string;
        name: string;
        device: string;
        mtu: string;
      }) => {
        const listen = hostPort(o.listen, '--listen');
        const cfg = parseConfig(
          serveConfigSchema,
          {
            name: o.name,
            device: o.device,
            address: o.address,
            mtu: Number(o.mtu),
            privateKey: readKeyFile(o.key),
            listen: { ip: listen.ip === '0.0.0.0' ? null : listen.ip, port: listen.port },
            natOut: o.natOut ?? null,
            peers: o.peer.map((p) => {
              const i = p.lastIndexOf('=');
              return { publicKey: p.slice(0, i), address: p.slice(i + 1) };
            }),
          },
          'flags',
        );
        requireRoot('serve');
        await runEnd(
          cfg.name,
          'serve',
          () => new ServeEnd(cfg),
          (device) => servePlan({ ...cfg, device }),
        );
      },
    );

  tn.command('up')
    .description(
      'the mobile end, in the foreground: one socket per uplink; SIGINT/SIGTERM restore the host',
    )
    .requiredOption('--key <file>', "this end's private key file")
    .requiredOption('--server <ip:port>', 'the serve end')
    .requiredOption('--server-key <pubkey>', "the serve end's public key")
    .requiredOption('--address <cidr>', "this end's tunnel address, as 10.99.0.2/24")
    .option('--uplink <spec>', 'IF[,role=primary|backup][,cost=N][,weight=N] (repeat)', collect, [])
    .option('--mode <mode>', 'best | redundant | aggregate', 'best')
    .option(
      '--route <cidr>',
      'send this destination into the tunnel (repeat; default: everything)',
      collect,
      [],
    )
    .option('--name <name>', 'state folder name', 'up')
    .option('--device <ifname>', 'tun device name', 'roamtun0')
    .option('--mtu <n>', 'tun MTU', '1400')
    .option('--rekey-ms <ms>', 'rekey interval', '120000')
    .option('--probe-mean-ms <ms>', 'mean gap between probes of a path', '1000')
    .action(
      async (o: {
        key: string;
        server: string;
        serverKey: string;
        address: string;
        uplink: string[];
        mode: string;
        route: string[];
        name: string;
        device: string;
        mtu: string;
        rekeyMs: string;
        probeMeanMs: string;
      }) => {
        const cfg = parseConfig(
          upConfigSchema,
          {
            name: o.name,
            device: o.device,
            address: o.address,
            mtu: Number(o.mtu),
            privateKey: readKeyFile(o.key),
            server: hostPort(o.server, '--server'),
            serverPublicKey: o.serverKey,
            uplinks: o.uplink.map(parseUplink),
            mode: o.mode,
            routes: o.route,
            rekeyAfterMs: Number(o.rekeyMs),
            probeMeanMs: Number(o.probeMeanMs),
          },
          'flags',
        );
        requireRoot('up');
        await runEnd(
          cfg.name,
          'up',
          () => new MobileEnd(cfg),
          (device) => upPlan({ ...cfg, device }),
        );
      },
    );

  tn.command('status')
    .description("a running end's paths, session, counters")
    .option('--name <name>', 'which tunnel, when several run')
    .action(async (o: { name?: string }) => {
      const s = await askControl(runningName(o.name), { op: 'status' });
      printJson(s);
    });

  tn.command('mode')
    .description("switch a running mobile end's mode at run time")
    .argument('<mode>', 'best | redundant | aggregate')
    .option('--pin <ifname>', 'best mode: use this uplink only (until the next mode command)')
    .option('--name <name>', 'which tunnel')
    .action(async (mode: string, o: { pin?: string; name?: string }) => {
      const s = await askControl(runningName(o.name), {
        op: 'mode',
        mode: mode as 'best',
        pin: o.pin ?? null,
      });
      if (output.json) printJson(s);
      else process.stdout.write(`mode ${mode}${o.pin ? ` pinned to ${o.pin}` : ''}\n`);
    });

  tn.command('down')
    .description('stop a tunnel end if it runs and restore what it changed (also after a crash)')
    .option('--name <name>', 'which tunnel (default: the only one recorded)')
    .action((o: { name?: string }) => {
      requireRoot('down');
      const names = o.name ? [o.name] : recordedTunnels();
      if (names.length > 1)
        throw new RoamError(
          'ROAM_BAD_INPUT',
          `name the tunnel with --name (recorded: ${names.join(', ')})`,
        );
      const name = names[0];
      const st = name ? readState(name) : undefined;
      if (!name || !st) {
        process.stdout.write('nothing to restore\n');
        return;
      }
      let stopped: number | undefined;
      if (pidAlive(st.pid) && st.pid !== process.pid) {
        process.kill(st.pid, 'SIGKILL');
        stopped = st.pid;
      }
      const failed = restore(st);
      process.stdout.write(
        `tunnel ${name}: restored${stopped ? ` (stopped pid ${stopped})` : ''}${failed ? `, ${failed} commands failed` : ''}\n`,
      );
    });
}
