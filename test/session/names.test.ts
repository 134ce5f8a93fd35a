import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect as netConnect, createServer as netCreateServer, type AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { test, type TestContext } from 'node:test';
import { isRoamError, type RoamErrorCode } from '../../src/errors.js';
import { NamesClient } from '../../src/names/client/client.js';
import { startNamesServer } from '../../src/names/http/server.js';
import { generateKeyPair, type KeyPair } from '../../src/names/keys.js';
import { NameService } from '../../src/names/service.js';
import { MemoryStore } from '../../src/names/store/memory-store.js';
import { connect } from '../../src/session/client.js';
import { publishServerName } from '../../src/session/names/server-name.js';
import { createServer, type RoamServer } from '../../src/session/server.js';
import type { Session } from '../../src/session/session.js';
import { readAll, sha256 } from './session-support.js';

// Sessions to a name, on loopback with a real name server: connect by name, the server moving
// (followed through the watch, RECONNECT off), connect-time mobility, and the errors.

const fast = { keepaliveIntervalMs: 50, deadAfterMs: 300, retryIntervalMs: 100 };
const NAME = 'files';

async function namesServer(t: TestContext): Promise<string> {
  const store = new MemoryStore();
  const server = await startNamesServer(new NameService(store), { host: '127.0.0.1', port: 0 });
  t.after(async () => {
    await server.close();
    await store.close();
  });
  return server.url;
}

function namesClient(t: TestContext, url: string, key?: KeyPair): NamesClient {
  const c = new NamesClient({ server: url, ...(key ? { key } : {}) });
  t.after(() => c.close());
  return c;
}

/** A port on 127.0.0.1 where nothing listens (bound, then closed). */
async function deadPort(): Promise<number> {
  const s = netCreateServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

async function namedServer(t: TestContext, url: string, key: KeyPair) {
  const sessions: Session[] = [];
  const waiting: ((s: Session) => void)[] = [];
  const server: RoamServer = createServer(fast, (s) => {
    const w = waiting.shift();
    if (w) w(s);
    else sessions.push(s);
  });
  t.after(() => {
    server.destroyAll();
    return server.close();
  });
  const publisher = publishServerName(server, { name: NAME, names: { server: url, key } });
  t.after(() => publisher.close());
  const next = () =>
    new Promise<Session>((resolve) => {
      const s = sessions.shift();
      if (s) resolve(s);
      else waiting.push(resolve);
    });
  return { server, publisher, next };
}

test('connect by name: the published address is used; a server move is followed through the watch', async (t) => {
  const url = await namesServer(t);
  const key = generateKeyPair();
  const { server, publisher, next } = await namedServer(t, url, key);
  const first = once(publisher, 'published');
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  await first;
  // control: false — no RECONNECT: only the name service can tell the client where the server went.
  const client = connect({ name: NAME, names: url, ...fast, control: false });
  t.after(() => client.destroy());
  const peer = await next();
  await once(client, 'connect');
  assert.equal(client.remoteAddress, '127.0.0.1');
  assert.equal(client.remotePort, port);
  const got = readAll(client);
  const part1 = Buffer.alloc(256 * 1024, 1);
  peer.write(part1);
  const published = once(publisher, 'published');
  const migrated = once(client, 'migrated');
  // The old flowpath stays up on loopback: without the pushed record nothing would move it.
  await server.move({ host: '127.0.0.2', port });
  const [info] = (await published) as [{ record: { addresses: { ip: string }[] } }];
  assert.equal(info.record.addresses[0]?.ip, '127.0.0.2');
  await migrated;
  assert.equal(client.remoteAddress, '127.0.0.2');
  const part2 = Buffer.alloc(256 * 1024, 2);
  peer.end(part2);
  client.end();
  const all = Buffer.concat([part1, part2]);
  assert.deepEqual(await got, { length: all.length, sha256: sha256(all) });
});

for (const watchName of [true, false]) {
  test(`connect-time mobility (${watchName ? 'pushed by the watch' : 'fresh lookups'}): the record is stale at first, the client retries at the new address`, async (t) => {
    const url = await namesServer(t);
    const key = generateKeyPair();
    const owner = namesClient(t, url, key);
    const stale = await deadPort();
    await owner.publish({
      name: NAME,
      addresses: [{ ip: '127.0.0.1', port: stale, iface: 'other', priority: 0 }],
    });
    const attempts: number[] = [];
    let firstRefused!: () => void;
    const refused = new Promise<void>((resolve) => (firstRefused = resolve));
    const client = connect({
      name: NAME,
      names: url,
      watchName,
      ...fast,
      connectTimeoutMs: 10_000,
      socketFactory: (to) => {
        attempts.push(to.port);
        const s = netConnect({ host: to.host, port: to.port });
        if (to.port === stale) s.once('error', () => firstRefused());
        return s;
      },
    });
    t.after(() => client.destroy());
    const failed = once(client, 'error').then(([err]) => assert.fail(String(err)));
    // The server "moves" after the client's lookup: the client's first SYN finds nobody.
    await refused;
    const { server, next } = await namedServer(t, url, key);
    await server.listen({ host: '127.0.0.1', port: 0 });
    const peer = await Promise.race([next(), failed]);
    await once(client, 'connect');
    assert.equal(attempts[0], stale);
    assert.equal(client.remotePort, server.address()?.port);
    const got = readAll(client);
    const data = Buffer.alloc(100 * 1024, 7);
    peer.end(data);
    client.end();
    assert.deepEqual(await got, { length: data.length, sha256: sha256(data) });
  });
}

test('errors: unknown name, name server unreachable, nobody at the address, untrusted record, bad input', async (t) => {
  const url = await namesServer(t);
  const expectError = async (s: Session, code: RoamErrorCode, match?: RegExp) => {
    const [err] = (await once(s, 'error')) as [Error];
    assert.ok(isRoamError(err, code), `${code} expected, got ${String(err)}`);
    if (match) assert.match(err.message, match);
    return err;
  };
  await expectError(connect({ name: 'nobody', names: url, ...fast }), 'ROAM_NAMES_NOT_FOUND');
  const closed = await deadPort();
  await expectError(
    connect({ name: NAME, names: `http://127.0.0.1:${closed}`, ...fast }),
    'ROAM_NAMES_UNREACHABLE',
    /127\.0\.0\.1/,
  );
  const owner = namesClient(t, url, generateKeyPair());
  const stale = await deadPort();
  await owner.publish({
    name: NAME,
    addresses: [{ ip: '127.0.0.1', port: stale, iface: 'other', priority: 0 }],
  });
  const started = performance.now();
  await expectError(
    connect({ name: NAME, names: url, ...fast, connectTimeoutMs: 600 }),
    'ROAM_CONNECT_TIMEOUT',
    new RegExp(`${NAME}.*ECONNREFUSED`),
  );
  assert.ok(performance.now() - started >= 600);
  await owner.publish({ name: NAME, addresses: [] });
  await expectError(
    connect({ name: NAME, names: url, ...fast, connectTimeoutMs: 300 }),
    'ROAM_CONNECT_TIMEOUT',
    /lists no address/,
  );
  // A record not signed by the key the client pinned for the name: never used.
  await expectError(
    connect({
      name: NAME,
      names: { server: url, pins: { [NAME]: generateKeyPair().publicKey } },
      ...fast,
    }),
    'ROAM_NAMES_UNTRUSTED',
  );
  assert.throws(
    () => connect({ name: NAME }),
    (e) => isRoamError(e, 'ROAM_BAD_INPUT'),
  );
  assert.throws(
    () => connect({ name: NAME, names: url, host: '127.0.0.1', port: 1 }),
    (e) => isRoamError(e, 'ROAM_BAD_INPUT'),
  );
  assert.throws(
    () => connect({ name: 'Not A Name', names: url }),
    (e) => isRoamError(e, 'ROAM_NAMES_BAD_NAME'),
  );
});

/**
 * An address that swallows SYNs, on loopback: a listener (backlog 1) in a child process that
 * never accepts (its event loop is blocked), with its accept queue filled. A connect to it
 * stays in SYN-SENT, as one to an address a server has left.
 */
async function blackHole(t: TestContext): Promise<number> {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `const s = require('net').createServer();
       s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
         process.stdout.write(s.address().port + '\\n');
         setImmediate(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0));
       });`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = once(child, 'exit');
  t.after(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
  });
  const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
  const port = Number(line);
  // Fill its accept queue (backlog + 1 connections): later SYNs are dropped by the kernel.
  for (let i = 0; i < 2; i++) {
    const filler = netConnect({ host: '127.0.0.1', port });
    filler.on('error', () => undefined); // reset when the child is killed
    t.after(() => filler.destroy());
    await once(filler, 'connect');
  }
  return port;
}

test('news that the server moved abandons attempts hung on its old addresses', async (t) => {
  const url = await namesServer(t);
  const key = generateKeyPair();
  const { server, next } = await namedServer(t, url, key);
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  const owner = namesClient(t, url, key);
  const hole = await blackHole(t);
  let hung = 0;
  const waiting: { n: number; resolve: () => void }[] = [];
  const hungAt = (n: number) =>
    new Promise<void>((resolve) => (hung >= n ? resolve() : waiting.push({ n, resolve })));
  // ρ 60 s and a connect timeout of 5 s allow two attempts at once: once two hang, only the
  // news itself can start a third before a minute has passed.
  const client = connect({
    name: NAME,
    names: url,
    keepaliveIntervalMs: 50,
    deadAfterMs: 300,
    retryIntervalMs: 60_000,
    connectTimeoutMs: 5000,
    control: false,
    socketFactory: (to) => {
      const socket = netConnect({ host: to.host, port: to.port });
      if (to.port === hole) {
        hung++;
        for (const w of waiting.filter((x) => hung >= x.n)) w.resolve();
      }
      return socket;
    },
  });
  t.after(() => client.destroy());
  const peer = await next();
  if (client.state === 'connecting') await once(client, 'connect');
  const got = readAll(client);
  const part1 = Buffer.alloc(64 * 1024, 1);
  peer.write(part1);
  const at = (p: number) => [{ ip: '127.0.0.1', port: p, iface: 'other' as const, priority: 0 }];
  // The record moves the server into the black hole twice: two attempts hang there.
  const migrating = once(client, 'migrating');
  await owner.publish({ name: NAME, addresses: at(hole) });
  await migrating;
  await hungAt(1);
  await owner.publish({ name: NAME, addresses: at(hole) });
  await hungAt(2);
  // Then the record says where the server really is.
  const migrated = once(client, 'migrated');
  await owner.publish({ name: NAME, addresses: at(port) });
  await migrated;
  const part2 = Buffer.alloc(64 * 1024, 2);
  peer.end(part2);
  client.end();
  const all = Buffer.concat([part1, part2]);
  assert.deepEqual(await got, { length: all.length, sha256: sha256(all) });
});
