import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { contentSha256 } from '../../src/demo/content.js';
import { isRoamError } from '../../src/errors.js';
import { EmulatedLink } from '../../src/lab/emulated-link/index.js';
import { connect } from '../../src/session/client.js';
import type { Session } from '../../src/session/session.js';
import { readAll, startServer, writeContent, writeRandom } from './session-support.js';

const fast = { keepaliveIntervalMs: 100, deadAfterMs: 400, retryIntervalMs: 50 };

test('echo: bytes come back exact, both ends close and free their state', async (t) => {
  const serverSides: Session[] = [];
  const { server, port } = await startServer((s) => {
    serverSides.push(s);
    s.pipe(s);
  });
  t.after(() => server.close());
  const client = connect({ host: '127.0.0.1', port, ...fast });
  await once(client, 'connect');
  assert.match(client.id, /^[0-9a-f]{32}$/);
  assert.equal(client.paths.length, 1);
  const size = 8 * 1024 * 1024 + 123;
  const [, received] = await Promise.all([writeContent(client, 'echo', size), readAll(client)]);
  assert.deepEqual(received, { length: size, sha256: contentSha256('echo', size) });
  const serverSide = serverSides[0];
  assert.ok(serverSide);
  await Promise.all([
    client.destroyed ? undefined : once(client, 'close'),
    serverSide.destroyed ? undefined : once(serverSide, 'close'),
  ]);
  assert.equal(client.state, 'closed');
  assert.equal(server.sessionCount, 0);
});

test('integrity under churn: 100 MB each way at once while the flowpath is killed 50 times', async (t) => {
  const size = 100 * 1024 * 1024;
  const opts = { ...fast, deadAfterMs: 2000 };
  let downSha: Promise<string> = Promise.resolve('');
  let resolveUp: (r: { length: number; sha256: string }) => void = () => undefined;
  let rejectUp: (err: Error) => void = () => undefined;
  const upReceived = new Promise<{ length: number; sha256: string }>((resolve, reject) => {
    resolveUp = resolve;
    rejectUp = reject;
  });
  const { server, port } = await startServer((s) => {
    s.on('error', rejectUp);
    readAll(s).then(resolveUp, rejectUp);
    downSha = writeRandom(s, size);
  }, opts);
  t.after(() => server.close());
  const emulated = await EmulatedLink.start({ target: { host: '127.0.0.1', port } });
  t.after(() => emulated.close());
  const client = connect({ host: '127.0.0.1', port: emulated.address.port, ...opts });
  t.after(() => client.destroy());
  const clientError = new Promise<never>((_, reject) => client.once('error', reject));
  // One cut per live flowpath: after each migration, let 1 MiB through, then cut again.
  let cuts = 0;
  let migrations = 0;
  let armed = true;
  let nextCutAt = 1024 * 1024;
  client.on('migrated', () => {
    migrations++;
    armed = true;
  });
  const downReceived = readAll(client, (bytes) => {
    if (armed && cuts < 50 && bytes >= nextCutAt) {
      armed = false;
      nextCutAt = bytes + 1024 * 1024;
      cuts++;
      emulated.cut({ reset: cuts % 2 === 0 });
    }
  });
  const upSha = writeRandom(client, size);
  const [down, up] = await Promise.race([Promise.all([downReceived, upReceived]), clientError]);
  assert.deepEqual(down, { length: size, sha256: await downSha });
  assert.deepEqual(up, { length: size, sha256: await upSha });
  assert.equal(cuts, 50);
  assert.equal(migrations, 50, 'every cut of the live flowpath is one migration');
});

test('a stalled path is detected by the session and the stream resumes on a new one', async (t) => {
  const size = 4 * 1024 * 1024;
  const { server, port } = await startServer((s) => void writeContent(s, 'stall', size), fast);
  t.after(() => server.close());
  const emulated = await EmulatedLink.start({
    target: { host: '127.0.0.1', port },
    rateBitsPerSec: 200e6,
  });
  t.after(() => emulated.close());
  const client = connect({ host: '127.0.0.1', port: emulated.address.port, ...fast });
  let stalled = false;
  const done = readAll(client, (bytes) => {
    if (!stalled && bytes > size / 4) {
      stalled = true;
      emulated.stall();
      // The stalled connection stays open and silent; new connections must get through.
      client.once('migrating', () => emulated.resume());
    }
  });
  const migrated = once(client, 'migrated');
  client.end();
  assert.deepEqual(await done, { length: size, sha256: contentSha256('stall', size) });
  const [info] = (await migrated) as [{ ms: number }];
  assert.ok(info.ms >= 0);
});

test('a session whose server forgot it fails with a clear code', async (t) => {
  const { server, port } = await startServer((s) => s.resume(), { ...fast });
  t.after(() => server.close());
  const emulated = await EmulatedLink.start({ target: { host: '127.0.0.1', port } });
  t.after(() => emulated.close());
  const client = connect({ host: '127.0.0.1', port: emulated.address.port, ...fast });
  await once(client, 'connect');
  server.destroyAll();
  emulated.cut();
  const [err] = (await once(client, 'error')) as [Error];
  assert.ok(
    isRoamError(err, 'ROAM_SESSION_UNKNOWN') || isRoamError(err, 'ROAM_SESSION_RESET'),
    String(err),
  );
});

test('bad options are refused with a clear message', () => {
  assert.throws(
    () => connect({ host: '127.0.0.1', port: 0 }),
    (e: unknown) => isRoamError(e, 'ROAM_BAD_INPUT'),
  );
  assert.throws(
    () => connect({ host: '127.0.0.1', port: 1, outputBufferBytes: 10 }),
    (e: unknown) => isRoamError(e, 'ROAM_BAD_INPUT') && /outputBufferBytes/.test(e.message),
  );
});
