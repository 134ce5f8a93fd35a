import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as netConnect } from 'node:net';
import { test, type TestContext } from 'node:test';
import type { AdmissionReport } from '../../src/session/admission/index.js';
import {
  connect,
  createServer,
  type RoamServer,
  type ServerOptions,
  type Session,
} from '../../src/session/index.js';
import { ErrorCode, type Frame, FrameDecoder } from '../../src/wire/index.js';
import { frameBytes, helloBytes, SocketTracker } from './hostile-support.js';
import { readAll, writeRandom } from './session-support.js';

// Admission control through a real server on loopback (issue 11): the cookie round trip of
// the client library, HELLOs that never echo, cookies replayed from another address,
// sessions that never confirm, a full table, per-source handshake limits.
//
//   raw sockets (127.0.0.1, 127.0.0.2) ──▶ roam server ◀── roam clients

const SIZE = 1024 * 1024;

interface Served {
  server: RoamServer;
  port: number;
  reports: AdmissionReport[];
  sessions: Session[];
}

async function serve(t: TestContext, options: ServerOptions): Promise<Served> {
  const sessions: Session[] = [];
  const reports: AdmissionReport[] = [];
  // Each server session echoes its client's stream back, so both directions are checked.
  const server = createServer(options, (s) => {
    sessions.push(s);
    s.on('error', () => undefined);
    s.pipe(s);
  });
  server.on('admission', (r) => reports.push(r));
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  t.after(async () => {
    server.destroyAll();
    await server.close();
  });
  return { server, port, reports, sessions };
}

/** A roam client that sends SIZE random bytes and reads the echo; resolves when both match. */
async function honestTransfer(t: TestContext, port: number, localAddress?: string) {
  const client = connect({ host: '127.0.0.1', port, localAddress });
  t.after(() => client.destroy());
  const started = performance.now();
  await Promise.race([
    once(client, 'connect'),
    once(client, 'error').then(([err]) => Promise.reject(err as Error)),
  ]);
  const connectMs = performance.now() - started;
  const [sent, received] = await Promise.all([writeRandom(client, SIZE), readAll(client)]);
  assert.deepEqual(received, { length: SIZE, sha256: sent }, 'the echo is byte-exact');
  return { client, connectMs };
}

/** A raw connection with its decoded frames. */
function raw(tracker: SocketTracker, port: number, localAddress?: string) {
  const socket = tracker.add(netConnect({ host: '127.0.0.1', port, localAddress }));
  const frames: Frame[] = [];
  const decoder = new FrameDecoder();
  const waiters: (() => void)[] = [];
  socket.on('data', (chunk: Buffer) => {
    decoder.decode(chunk, (f) => (frames.push(f), true));
    for (const w of waiters.splice(0)) w();
  });
  socket.on('error', () => undefined);
  const closed = once(socket, 'close');
  const frame = async (type: Frame['type']): Promise<Frame> => {
    for (;;) {
      const f = frames.find((x) => x.type === type);
      if (f) return f;
      if (socket.destroyed)
        throw new Error(`closed before ${type}; got ${frames.map((x) => x.type).join()}`);
      await Promise.race([new Promise<void>((r) => waiters.push(r)), closed]);
    }
  };
  return { socket, frames, frame, closed, ready: once(socket, 'connect') };
}

test("cookie 'always': the client echoes once, transparently, and moves 1 MB each way", async (t) => {
  const s = await serve(t, { admission: { cookie: 'always' } });
  await honestTransfer(t, s.port);
  const c = s.server.admissionCounters;
  assert.equal(c.cookiesSent, 1);
  assert.equal(c.cookiesAccepted, 1);
  assert.equal(s.sessions.length, 1);
});

test("cookie 'always' with early data: the bytes written before WELCOME go again after the echo", async (t) => {
  const s = await serve(t, { admission: { cookie: 'always' } });
  const client = connect({ host: '127.0.0.1', port: s.port });
  t.after(() => client.destroy());
  // Written at once, before the handshake: the first 64 KiB leave as early data behind the
  // first HELLO, which the server answers with COOKIE and drops.
  const [sent, received] = await Promise.all([writeRandom(client, SIZE), readAll(client)]);
  assert.deepEqual(received, { length: SIZE, sha256: sent });
  assert.equal(s.server.admissionCounters.cookiesAccepted, 1);
  assert.equal(s.sessions.length, 1, 'one session, its stream once');
});

test('a HELLO with early data that never echoes its cookie gets COOKIE and no session', async (t) => {
  const s = await serve(t, { admission: { cookie: 'always' } });
  const tracker = new SocketTracker(t);
  const r = raw(tracker, s.port);
  await r.ready;
  r.socket.write(
    Buffer.concat([
      helloBytes(),
      frameBytes({
        type: 'data',
        seq: 0,
        ack: 0,
        window: 65536,
        fin: false,
        payload: Buffer.alloc(1000),
      }),
    ]),
  );
  const cookie = await r.frame('cookie');
  assert.equal(cookie.type === 'cookie' && cookie.cookie.length, 32);
  assert.equal(s.server.sessionCount, 0, 'no session for an unechoed HELLO');
  assert.equal(s.sessions.length, 0);
});

test('a captured HELLO and cookie echo replayed from another address: BAD_PROOF, no session', async (t) => {
  const s = await serve(t, { admission: { cookie: 'always' } });
  const tracker = new SocketTracker(t);
  const hello = helloBytes();
  const a = raw(tracker, s.port, '127.0.0.1');
  await a.ready;
  a.socket.write(hello);
  const cookie = await a.frame('cookie');
  const b = raw(tracker, s.port, '127.0.0.2');
  await b.ready;
  b.socket.write(hello);
  await b.frame('cookie');
  b.socket.write(Buffer.concat([frameBytes(cookie), hello]));
  const err = await b.frame('error');
  assert.equal(err.type === 'error' && err.code, ErrorCode.BAD_PROOF);
  await b.closed;
  assert.equal(s.server.sessionCount, 0);
  assert.equal(s.server.admissionCounters.cookiesRejected, 1);
  // The same echo from the address it was made for is good.
  a.socket.write(Buffer.concat([frameBytes(cookie), hello]));
  assert.equal((await a.frame('welcome')).type, 'welcome');
});

test('a session that never confirms WELCOME expires within unconfirmedTimeoutMs', async (t) => {
  const timeout = 400;
  const s = await serve(t, { admission: { cookie: 'never', unconfirmedTimeoutMs: timeout } });
  const tracker = new SocketTracker(t);
  const r = raw(tracker, s.port);
  await r.ready;
  r.socket.write(helloBytes());
  await r.frame('welcome');
  const at = performance.now();
  assert.equal(s.server.sessionCount, 1);
  const [report] = (await once(s.server, 'admission')) as [AdmissionReport];
  const ms = performance.now() - at;
  assert.equal(report.kind, 'evicted');
  assert.equal(report.kind === 'evicted' && report.standing, 'unconfirmed');
  assert.ok(ms < timeout * 1.5 + 100, `expired after ${ms.toFixed(0)} ms`);
  const session = s.sessions[0] as Session;
  if (!session.closed) await once(session, 'close'); // it closes on the next tick
  assert.equal(s.server.sessionCount, 0);
  assert.equal(s.server.admissionCounters.expiredUnconfirmed, 1);
});

/** `n` sessions opened by raw HELLOs, confirmed with an ACK, then abandoned (socket reset). */
async function abandon(t: TestContext, s: Served, n: number): Promise<void> {
  const tracker = new SocketTracker(t);
  for (let i = 0; i < n; i++) {
    const r = raw(tracker, s.port);
    await r.ready;
    r.socket.write(helloBytes());
    await r.frame('welcome');
    r.socket.write(frameBytes({ type: 'ack', ack: 0, window: 65536 }));
    const session = s.sessions.at(-1) as Session;
    const detached = once(session, 'migrating');
    await new Promise((resolve) => setImmediate(resolve)); // the ACK is read before the reset
    r.socket.resetAndDestroy();
    await detached;
  }
}

test('a full table: the longest-detached session goes for a newcomer; live ones never', async (t) => {
  const s = await serve(t, { maxSessions: 3, admission: { cookie: 'never', maxDetached: 3 } });
  await abandon(t, s, 3);
  const firstId = (s.sessions[0] as Session).id;
  assert.equal(s.server.admissionCounters.detached, 3);
  await honestTransfer(t, s.port);
  const evicted = s.reports.find((r) => r.kind === 'evicted');
  assert.equal(evicted?.kind === 'evicted' && evicted.id, firstId, 'the longest-detached went');
  // Three clients that stay connected: the two detached sessions left go for them.
  for (let i = 0; i < 3; i++) {
    const live = connect({ host: '127.0.0.1', port: s.port });
    t.after(() => live.destroy());
    await once(live, 'connect');
  }
  assert.equal(s.server.admissionCounters.evictedDetached, 3);
  // Now three live sessions: the next client is refused and none of them is touched.
  const late = connect({ host: '127.0.0.1', port: s.port, connectTimeoutMs: 2000 });
  t.after(() => late.destroy());
  const [err] = (await once(late, 'error')) as [Error & { code?: string }];
  assert.equal(err.code, 'ROAM_SERVER_BUSY');
  assert.equal(s.server.admissionCounters.refusedFull, 1);
  assert.equal(s.sessions.filter((x) => x.state === 'open').length, 3);
});

test("admission off (today's behaviour): abandoned sessions lock the next client out", async (t) => {
  const s = await serve(t, { maxSessions: 3, admission: { enabled: false } });
  await abandon(t, s, 3);
  const late = connect({ host: '127.0.0.1', port: s.port, connectTimeoutMs: 2000 });
  t.after(() => late.destroy());
  const [err] = (await once(late, 'error')) as [Error & { code?: string }];
  assert.equal(err.code, 'ROAM_SERVER_BUSY');
});

test('per-source handshake limit: the extra idle connection is closed, another source connects', async (t) => {
  const s = await serve(t, { admission: { maxHandshakesPerSource: 3 } });
  const tracker = new SocketTracker(t);
  const idle = [];
  for (let i = 0; i < 3; i++) {
    const r = raw(tracker, s.port, '127.0.0.1');
    await r.ready;
    idle.push(r);
  }
  // Accepted connections are counted once the server has them: wait until it has all three.
  while (s.server.admissionCounters.handshaking < 3) await new Promise((r) => setImmediate(r));
  const extra = raw(tracker, s.port, '127.0.0.1');
  await extra.closed;
  assert.ok(
    idle.every((r) => !r.socket.destroyed),
    'the first three stay',
  );
  assert.equal(s.server.admissionCounters.sourceLimitHandshakes, 1);
  assert.ok(s.reports.some((r) => r.kind === 'source-limit' && r.limit === 'handshakes'));
  await honestTransfer(t, s.port, '127.0.0.2');
});
