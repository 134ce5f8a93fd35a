import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect as netConnect, createServer as netCreateServer, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { createServer as tlsCreateServer } from 'node:tls';
import { isRoamError } from '../../src/errors.js';
import { attachProof } from '../../src/session/handshake.js';
import { connect, type ConnectOptions, type Session } from '../../src/session/index.js';
import {
  type DataFrame,
  ErrorCode,
  type Frame,
  FrameDecoder,
  INITIAL_WINDOW,
} from '../../src/wire/index.js';
import {
  assertRefused,
  attack,
  captureWarnings,
  frameBytes,
  helloBytes,
  startHonest,
} from './hostile-support.js';
import { readAll, sha256, startServer } from './session-support.js';
import { selfSignedCertificate } from './tls-credentials.js';

// Early data (docs/protocol.md, "Early data"): what a client writes before WELCOME leaves
// right after its HELLO new, within INITIAL_WINDOW; the rest follows WELCOME.

const fast = { keepaliveIntervalMs: 50, deadAfterMs: 400, retryIntervalMs: 50 };
const credentials = selfSignedCertificate();

/** What one connection to a mute server carried: the client's frames, and whether it ended. */
interface Heard {
  frames: Frame[];
  ended: Promise<void>;
}

/**
 * A server that speaks no roam at all: it decodes what each client sends and never answers
 * (no WELCOME), so whatever DATA it gets was sent before WELCOME. Plain TCP or TLS.
 */
async function startMute(
  t: TestContext,
  tls: boolean,
): Promise<{ port: number; connections: Heard[]; heard: (n: number) => Promise<Heard> }> {
  const connections: Heard[] = [];
  const waiters: (() => void)[] = [];
  const sockets = new Set<Socket>();
  const onSocket = (socket: Socket) => {
    sockets.add(socket);
    const decoder = new FrameDecoder();
    const heard: Heard = {
      frames: [],
      ended: new Promise((resolve) => socket.once('close', () => resolve())),
    };
    connections.push(heard);
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      for (const frame of decoder.emitFrames(chunk)) heard.frames.push(frame);
      for (const w of waiters.splice(0)) w();
    });
  };
  const server = tls
    ? tlsCreateServer(
        { key: credentials.key, cert: credentials.cert, minVersion: 'TLSv1.3' },
        onSocket,
      )
    : netCreateServer(onSocket);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  /** Resolves when connection `n` has carried `until`'s condition (checked on every read). */
  const heard = (n: number) =>
    new Promise<Heard>((resolve) => {
      const check = () => {
        const c = connections[n];
        if (c && finSeen(c.frames)) resolve(c);
        else waiters.push(check);
      };
      check();
    });
  return { port: address.port, connections, heard };
}

function finSeen(frames: Frame[]): boolean {
  return frames.some((f) => f.type === 'data' && f.fin);
}

/** The client's stream as its DATA frames carry it, checked to be contiguous from 0. */
function streamOf(frames: Frame[]): { bytes: Buffer; fin: boolean } {
  const data = frames.filter((f): f is DataFrame => f.type === 'data');
  let at = 0;
  for (const f of data) {
    assert.equal(f.seq, at, 'DATA frames follow each other from sequence number 0');
    at += f.payload.length;
  }
  return { bytes: Buffer.concat(data.map((f) => f.payload)), fin: data.some((f) => f.fin) };
}

function client(t: TestContext, port: number, opts: Partial<ConnectOptions> = {}): Session {
  const session = connect({ host: '127.0.0.1', port, ...fast, ...opts });
  t.after(() => session.destroy());
  return session;
}

for (const tls of [false, true]) {
  const kind = tls ? 'TLS' : 'plain';
  const tlsClient = tls ? { tls: { pinnedKey: credentials.pin } } : {};
  const tlsServer = tls ? { tls: { key: credentials.key, cert: credentials.cert } } : {};

  test(`${kind}: bytes written before WELCOME leave right after HELLO new`, async (t) => {
    const mute = await startMute(t, tls);
    const session = client(t, mute.port, { ...tlsClient, connectTimeoutMs: 60_000 });
    session.on('error', () => undefined);
    const request = randomBytes(40_000);
    session.end(request);
    const heard = await mute.heard(0);
    const first = heard.frames[0];
    assert.equal(first?.type, 'hello');
    assert.equal(first.type === 'hello' && first.mode, 'new');
    const early = streamOf(heard.frames);
    assert.equal(early.bytes.length, request.length);
    assert.equal(sha256(early.bytes), sha256(request));
    assert.ok(early.fin, 'the FIN went early too');
    assert.equal(session.state, 'connecting', 'no WELCOME, no session: the bytes were early');
  });

  test(`${kind}: early data arrives byte-exact, and the answer comes back`, async (t) => {
    const got: Promise<{ length: number; sha256: string }>[] = [];
    const { server, port } = await startServer(
      (s) => {
        s.on('error', () => undefined);
        got.push(readAll(s));
        s.end('ok');
      },
      { ...fast, ...tlsServer },
    );
    t.after(() => server.close());
    const session = client(t, port, tlsClient);
    const request = randomBytes(50_000);
    session.end(request);
    const answer = await readAll(session);
    assert.deepEqual(answer, { length: 2, sha256: sha256(Buffer.from('ok')) });
    assert.equal(got.length, 1);
    assert.deepEqual(await got[0], { length: request.length, sha256: sha256(request) });
  });
}

test('more than the initial window: exactly INITIAL_WINDOW goes before WELCOME', async (t) => {
  captureWarnings(t);
  const mute = await startMute(t, false);
  // The mute server never answers: the client gives up at its handshake timeout and closes,
  // after which everything it sent on that connection is known.
  // (deadAfterMs past it: the liveness verdict would come first and count as a lost path.)
  const session = client(t, mute.port, {
    connectTimeoutMs: 500,
    keepaliveIntervalMs: 1000,
    deadAfterMs: 5000,
  });
  const failed = once(session, 'error');
  session.end(randomBytes(1024 * 1024));
  const [err] = (await failed) as [Error];
  assert.ok(isRoamError(err, 'ROAM_HANDSHAKE_TIMEOUT'), String(err));
  const heard = mute.connections[0];
  assert.ok(heard);
  await heard.ended;
  const early = streamOf(heard.frames);
  assert.equal(early.bytes.length, INITIAL_WINDOW, 'the initial window, no more');
  assert.equal(early.fin, false, 'the FIN lies past the window');
  assert.equal(mute.connections.length, 1, 'a timeout is not retried');
});

test('more than the initial window: the rest follows WELCOME, byte-exact', async (t) => {
  const got: Promise<{ length: number; sha256: string }>[] = [];
  const { server, port } = await startServer((s) => {
    s.on('error', () => undefined);
    got.push(readAll(s));
    s.end();
  }, fast);
  t.after(() => server.close());
  const session = client(t, port);
  const request = randomBytes(3 * 1024 * 1024 + 17);
  for (let off = 0; off < request.length; off += 100_000)
    session.write(request.subarray(off, off + 100_000));
  session.end();
  await readAll(session);
  assert.deepEqual(await got[0], { length: request.length, sha256: sha256(request) });
});

/**
 * A TCP relay to `port` that breaks its first connection when the server's first bytes
 * (WELCOME) come back, before they reach the client; later connections pass.
 */
async function startBreaker(
  t: TestContext,
  port: number,
): Promise<{ port: number; connections: () => number }> {
  let n = 0;
  const sockets = new Set<Socket>();
  const relay = netCreateServer((down) => {
    const index = n++;
    const up = netConnect({ host: '127.0.0.1', port });
    for (const s of [down, up]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.once('close', () => sockets.delete(s));
    }
    down.pipe(up);
    if (index === 0) {
      up.once('data', () => {
        up.destroy();
        down.destroy();
      });
    } else up.pipe(down);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const s of sockets) s.destroy();
    relay.close();
  });
  const address = relay.address();
  assert.ok(address && typeof address === 'object');
  return { port: address.port, connections: () => n };
}

test('the first flowpath breaks before WELCOME: the retry delivers every byte once', async (t) => {
  captureWarnings(t);
  const sessions: {
    session: Session;
    got: Promise<{ length: number; sha256: string }>;
    bytes: number;
  }[] = [];
  const errors = new Map<Session, Error>();
  const { server, port } = await startServer((s) => {
    s.on('error', (err) => errors.set(s, err));
    // Counts what arrives without failing on the reset the first session gets.
    const got = new Promise<{ length: number; sha256: string }>((resolve) => {
      readAll(s).then(resolve, () => undefined);
    });
    const entry = { session: s, got, bytes: 0 };
    s.on('data', (chunk: Buffer) => (entry.bytes += chunk.length));
    sessions.push(entry);
    got.then(
      () => s.end(),
      () => undefined,
    );
  }, fast);
  t.after(() => {
    server.destroyAll();
    void server.close();
  });
  const breaker = await startBreaker(t, port);
  const session = client(t, breaker.port);
  // More than the initial window: early data on the broken flowpath, then the rest.
  const request = randomBytes(200_000);
  session.end(request);
  await readAll(session);
  assert.equal(breaker.connections(), 2, 'one broken flowpath, one retry');
  assert.equal(sessions.length, 2, 'the broken try opened a session at the server too');
  const [lost, kept] = sessions;
  assert.ok(lost && kept);
  assert.equal(kept.session.id, session.id);
  assert.deepEqual(await kept.got, { length: request.length, sha256: sha256(request) });
  assert.ok(lost.bytes > 0, 'the broken flowpath carried early data to the server');
  // The first session got early bytes, and ended when the client started over: the
  // application is never left with them as a second, live copy of the stream.
  const lostErr = errors.get(lost.session) ?? (await once(lost.session, 'error'))[0];
  assert.ok(isRoamError(lostErr, 'ROAM_SESSION_RESET'), String(lostErr));
  assert.ok((lost.session as Session).destroyed);
});

test('a server at its session limit: the client with early data gets ROAM_SERVER_BUSY', async (t) => {
  captureWarnings(t);
  const { server, port } = await startServer(
    (s) => {
      s.on('error', () => undefined);
      s.resume();
    },
    { ...fast, maxSessions: 1 },
  );
  t.after(() => {
    server.destroyAll();
    void server.close();
  });
  const first = client(t, port);
  await once(first, 'connect');
  const second = client(t, port);
  let connected = false;
  second.on('connect', () => (connected = true));
  second.write(randomBytes(10_000));
  const [err] = (await once(second, 'error')) as [Error];
  assert.ok(isRoamError(err, 'ROAM_SERVER_BUSY'), String(err));
  assert.equal(connected, false);
  assert.equal(server.sessionCount, 1);
});

for (const mode of ['attach', 'add'] as const) {
  test(`DATA right behind HELLO ${mode} is refused with PROTOCOL; the session goes on`, async (t) => {
    const warnings = captureWarnings(t);
    const h = await startHonest(t, fast, fast);
    const { connId, secret } = h.serverSide;
    const counter = 1000;
    const hello = {
      mode,
      pathId: 77,
      connId,
      counter,
      received: 0,
      nonce: randomBytes(16),
    };
    const proof = attachProof(secret, 'client', {
      connId,
      pathId: hello.pathId,
      counter,
      received: 0,
      clientNonce: hello.nonce,
      serverNonce: Buffer.alloc(16),
    });
    const data = frameBytes({
      type: 'data',
      seq: 0,
      ack: 0,
      window: 65536,
      fin: false,
      payload: Buffer.from('sneaked in'),
    });
    const input = Buffer.concat([
      helloBytes({ ...hello, keyShare: Buffer.alloc(32), proof }),
      data,
    ]);
    const seen = await attack(h.tracker, h.port, input, { deadlineMs: 5000 });
    assertRefused(seen, ErrorCode.PROTOCOL, `HELLO ${mode} + DATA`);
    assert.ok(
      warnings.some((l) => /before WELCOME/.test(l.msg)),
      'the refusal is logged',
    );
    // The honest session never noticed: same flowpath, and it still moves bytes.
    assert.deepEqual(h.pathDowns, []);
    const echo = readAll(h.client);
    h.serverSide.pipe(h.serverSide);
    const payload = randomBytes(100_000);
    h.client.end(payload);
    assert.deepEqual(await echo, { length: payload.length, sha256: sha256(payload) });
  });
}
