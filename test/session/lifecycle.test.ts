import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { isRoamError } from '../../src/errors.js';
import { EmulatedLink } from '../../src/lab/emulated-link/index.js';
import { connect } from '../../src/session/client.js';
import type { Session } from '../../src/session/session.js';
import { readAll, sha256, startServer } from './session-support.js';

const fast = { keepaliveIntervalMs: 50, deadAfterMs: 300, retryIntervalMs: 50 };

/** A server whose sessions are handed to the test as they come. */
async function serverWithQueue(options = {}) {
  const waiting: ((s: Session) => void)[] = [];
  const ready: Session[] = [];
  const { server, port } = await startServer((s) => {
    // A test that destroys one end sees the other end's reset; that is not a failure here.
    s.on('error', () => undefined);
    const w = waiting.shift();
    if (w) w(s);
    else ready.push(s);
  }, options);
  const next = () => {
    const s = ready.shift();
    return s ? Promise.resolve(s) : new Promise<Session>((resolve) => waiting.push(resolve));
  };
  return { server, port, next };
}

test('half-close: the client ends its side and still receives until the server ends', async (t) => {
  const { server, port, next } = await serverWithQueue(fast);
  t.after(() => server.close());
  const client = connect({ host: '127.0.0.1', port, ...fast });
  t.after(() => client.destroy());
  const peer = await next();
  client.end('question');
  const question = await readAll(peer);
  assert.equal(question.length, 8);
  const answer = Buffer.alloc(3 * 1024 * 1024, 7);
  const got = readAll(client);
  peer.end(answer);
  assert.deepEqual(await got, { length: answer.length, sha256: sha256(answer) });
});

test('a forced migration keeps the stream exact, and a server refuses to migrate itself', async (t) => {
  const { server, port, next } = await serverWithQueue(fast);
  t.after(() => server.close());
  const client = connect({ host: '127.0.0.1', port, ...fast });
  t.after(() => client.destroy());
  const peer = await next();
  if (client.state === 'connecting') await once(client, 'connect');
  assert.throws(
    () => peer.migrate(),
    (e: unknown) => isRoamError(e, 'ROAM_BAD_INPUT'),
  );
  const data = Buffer.alloc(2 * 1024 * 1024, 3);
  const got = readAll(client);
  peer.write(data.subarray(0, 1024 * 1024));
  const migrated = once(client, 'migrated');
  client.migrate();
  await migrated;
  peer.end(data.subarray(1024 * 1024));
  client.end();
  assert.deepEqual(await got, { length: data.length, sha256: sha256(data) });
});

test('destroy on one end: an orderly end at the other when nothing was lost, as a FIN with net', async (t) => {
  const { server, port, next } = await serverWithQueue(fast);
  t.after(() => server.close());
  const client = connect({ host: '127.0.0.1', port, ...fast });
  const errors: Error[] = [];
  client.on('error', (err) => errors.push(err));
  const peer = await next();
  const got = readAll(client);
  peer.write('last words');
  await once(client, 'readable');
  peer.destroy();
  assert.deepEqual(await got, { length: 10, sha256: sha256(Buffer.from('last words')) });
  if (!client.destroyed) await once(client, 'close');
  assert.deepEqual(errors, []);
});

test('destroy on one end resets the other with ROAM_SESSION_RESET when its bytes were lost', async (t) => {
  const { server, port, next } = await serverWithQueue(fast);
  t.after(() => server.close());
  const client = connect({ host: '127.0.0.1', port, ...fast });
  const peer = await next();
  const failed = once(client, 'error');
  // The peer stops reading; what the client writes past its read-ahead is never read.
  peer.pause();
  client.write(Buffer.alloc(1024 * 1024));
  while (peer.readableLength <= peer.readableHighWaterMark)
    await new Promise((resolve) => setImmediate(resolve));
  peer.destroy();
  const [err] = (await failed) as [Error];
  assert.ok(isRoamError(err, 'ROAM_SESSION_RESET'), String(err));
});

test('backpressure: a peer that does not read stops the writer, with bounded memory', async (t) => {
  const output = 256 * 1024;
  const { server, port, next } = await serverWithQueue({ ...fast, inputBufferBytes: 128 * 1024 });
  t.after(() => server.close());
  const client = connect({ host: '127.0.0.1', port, ...fast, outputBufferBytes: output });
  t.after(() => client.destroy());
  const peer = await next();
  peer.pause();
  let written = 0;
  const chunk = Buffer.alloc(64 * 1024);
  while (client.write(chunk)) {
    written += chunk.length;
    assert.ok(written < 64 * 1024 * 1024, 'write() never pushed back');
  }
  await new Promise((resolve) => setImmediate(resolve));
  assert.ok(
    client.bufferedBytes <= output + chunk.length,
    `client holds ${client.bufferedBytes} bytes`,
  );
  assert.ok(
    peer.bufferedBytes <= 128 * 1024 + 256 * 1024,
    `server holds ${peer.bufferedBytes} bytes`,
  );
  // Reading resumes the flow: the writer drains.
  const drained = once(client, 'drain');
  peer.resume();
  await drained;
});

test('a detached session expires: the server app gets ROAM_SESSION_EXPIRED, so does a late resume', async (t) => {
  const { server, port, next } = await serverWithQueue({ ...fast, detachTimeoutMs: 300 });
  t.after(() => server.close());
  const link = await EmulatedLink.start({ target: { host: '127.0.0.1', port } });
  t.after(() => link.close());
  const client = connect({
    host: '127.0.0.1',
    port: link.address.port,
    ...fast,
    detachTimeoutMs: 60_000,
  });
  t.after(() => client.destroy());
  const peer = await next();
  if (client.state === 'connecting') await once(client, 'connect');
  const expired = once(peer, 'error');
  const clientFailed = once(client, 'error');
  await link.down();
  const [serverErr] = (await expired) as [Error];
  assert.ok(isRoamError(serverErr, 'ROAM_SESSION_EXPIRED'), String(serverErr));
  await link.up();
  const [clientErr] = (await clientFailed) as [Error];
  assert.ok(isRoamError(clientErr, 'ROAM_SESSION_EXPIRED'), String(clientErr));
  assert.equal(server.sessionCount, 0);
});

test('both ends move at once: resumed within ρ + 2 RTT of the new address being known', async (t) => {
  const rho = 300;
  const delayMs = 20; // each way: RTT 40 ms
  const { server, port, next } = await serverWithQueue({ ...fast, retryIntervalMs: rho });
  t.after(() => server.close());
  const oldPath = await EmulatedLink.start({ target: { host: '127.0.0.1', port }, delayMs });
  t.after(() => oldPath.close());
  let target = oldPath.address;
  // control: false — the server's RECONNECT cannot reach a client that moved too.
  const client = connect({ resolve: () => target, ...fast, retryIntervalMs: rho, control: false });
  t.after(() => client.destroy());
  const peer = await next();
  if (client.state === 'connecting') await once(client, 'connect');
  const got = readAll(client);
  peer.write(Buffer.alloc(512 * 1024, 1));
  // Both move: the server to another address, and the old path goes silent for the client.
  await server.move({ host: '127.0.0.2', port });
  oldPath.stall();
  await once(client, 'migrating');
  // A while later the client learns where the server is now (the name service's job).
  await new Promise((resolve) => setTimeout(resolve, 2 * rho));
  const newPath = await EmulatedLink.start({ target: { host: '127.0.0.2', port }, delayMs });
  t.after(() => newPath.close());
  const known = performance.now();
  target = newPath.address;
  await once(client, 'migrated');
  const ms = performance.now() - known;
  console.log(
    `# simultaneous move: resumed ${ms.toFixed(0)} ms after the new address was known (ρ ${rho} ms, RTT ${2 * delayMs} ms)`,
  );
  assert.ok(ms <= rho + 4 * delayMs + 100, `took ${ms} ms`);
  peer.end(Buffer.alloc(512 * 1024, 2));
  client.end();
  const all = Buffer.concat([Buffer.alloc(512 * 1024, 1), Buffer.alloc(512 * 1024, 2)]);
  assert.deepEqual(await got, { length: all.length, sha256: sha256(all) });
});

test('detached sessions stay within the memory bound: the longest-detached expires first', async (t) => {
  const errors = new Map<Session, Error>();
  const { server, port, next } = await serverWithQueue({ ...fast, maxDetachedBytes: 300 * 1024 });
  t.after(() => server.close());
  const link = await EmulatedLink.start({ target: { host: '127.0.0.1', port } });
  t.after(() => link.close());
  const clients = [0, 1].map(() =>
    connect({ host: '127.0.0.1', port: link.address.port, ...fast }),
  );
  for (const c of clients) {
    c.on('error', () => undefined);
    t.after(() => c.destroy());
  }
  const peers = [await next(), await next()];
  for (const c of clients) if (c.state === 'connecting') await once(c, 'connect');
  // Unacknowledged bytes on both server sessions: written while the path is a black hole.
  link.stall();
  const oneExpired = new Promise<void>((resolve) => {
    for (const p of peers) {
      p.on('error', (err) => {
        errors.set(p, err);
        resolve();
      });
      p.write(Buffer.alloc(200 * 1024));
    }
  });
  await oneExpired;
  // Together they hold 400 KiB detached, over the 300 KiB bound: one had to go.
  const expired = [...errors.entries()].filter(([, e]) => isRoamError(e, 'ROAM_SESSION_EXPIRED'));
  assert.equal(expired.length, 1, `expired: ${expired.length}`);
  assert.match(expired[0]?.[1].message ?? '', /detached sessions exceed/);
  assert.equal(server.sessionCount, 1);
});
