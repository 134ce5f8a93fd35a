import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import {
  download,
  ManualClock,
  MiB,
  openHandles,
  sha256,
  startGateway,
  startOrigin,
} from './helpers.js';

after(async () => assert.deepEqual(await openHandles(), [], 'handles left open'));

const T = { timeout: 30_000 };
const body = randomBytes(8 * MiB);

test('resume timeout: the re-request gets no answer in time, the flow gives up', T, async (t) => {
  const clock = new ManualClock();
  const origin = await startOrigin(t, {
    resource: () => ({ body, etag: '"v1"' }),
    stallAt: (r) => (r.index === 0 ? MiB : undefined),
    custom: (_req, _res, seen) => seen.index === 1, // the re-request hangs
  });
  const gw = await startGateway(t, origin, { clock, maxResumeAttempts: 1, resumeTimeoutMs: 3000 });
  const pending = download(gw.url('/file'), {
    onBytes: (n) => {
      if (n !== MiB) return;
      gw.down.add('A');
      gw.engine.uplinkFailed('A');
    },
  });
  await origin.request(1);
  clock.advance(2999);
  assert.equal(gw.closed.length, 0, 'not before the timeout');
  clock.advance(1);
  const d = await pending;
  assert.equal(d.complete, false);
  assert.equal(d.body.length, MiB);
  const stats = await gw.flowClosed(0);
  assert.equal(stats.error?.code, 'ROAM_GATEWAY_RESUME_TIMEOUT');
  assert.equal(clock.pending.length, 0, 'no timer left armed');
});

test('resume timeout with attempts left: the next uplink gets the re-request', T, async (t) => {
  const clock = new ManualClock();
  const origin = await startOrigin(t, {
    resource: () => ({ body, etag: '"v1"' }),
    stallAt: (r) => (r.index === 0 ? MiB : undefined),
    custom: (_req, _res, seen) => seen.index === 1,
  });
  const gw = await startGateway(t, origin, { clock, resumeTimeoutMs: 3000 });
  const pending = download(gw.url('/file'), {
    onBytes: (n) => {
      if (n !== MiB || gw.migrations.length > 0) return;
      gw.down.add('A');
      gw.engine.uplinkFailed('A');
    },
  });
  await origin.request(1);
  gw.down.delete('A'); // A is back; B is the one that hangs now
  clock.advance(3000);
  const d = await pending;
  assert.ok(d.complete);
  assert.equal(sha256(d.body), sha256(body));
  assert.deepEqual(
    gw.migrations.map((m) => [m.from, m.to, m.offset, m.attempt]),
    [
      ['A', 'B', MiB, 1],
      ['B', 'A', MiB, 2],
    ],
  );
});

test('discard catch-up slower than maxDiscardMs: the flow gives up, short', T, async (t) => {
  const clock = new ManualClock();
  const origin = await startOrigin(t, {
    resource: () => ({ body, etag: '"v1"', ranges: false }),
    stallAt: (r) => [5 * MiB, 2 * MiB][r.index], // the new 200 stalls before catching up
  });
  const gw = await startGateway(t, origin, { clock, maxDiscardMs: 5000 });
  const discarding = clock.whenArmed(5000); // the 200 was accepted: catching up
  const pending = download(gw.url('/file'), {
    onBytes: (n) => {
      if (n !== 5 * MiB) return;
      gw.down.add('A');
      gw.engine.uplinkFailed('A');
    },
  });
  await Promise.all([origin.stall(1), discarding]);
  clock.advance(5000);
  const d = await pending;
  assert.equal(d.complete, false);
  assert.equal(sha256(d.body), sha256(body.subarray(0, 5 * MiB)));
  assert.equal((await gw.flowClosed(0)).error?.code, 'ROAM_GATEWAY_RESUME_TIMEOUT');
});
