import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import {
  download,
  MiB,
  openHandles,
  type Representation,
  startGateway,
  startOrigin,
  assertSame,
  failAt,
} from './helpers.js';

// What must never be spliced, or cannot be: the client's download then fails the way a
// failed server's would (a short body), and never holds a wrong byte.

const T = { timeout: 60_000 };
const body20 = randomBytes(20 * MiB);
const v1: Representation = { body: body20, etag: '"v1"' };

after(async () => assert.deepEqual(await openHandles(), [], 'handles left open'));

test('discarding more than maxDiscardBytes is refused: the download fails, short', T, async (t) => {
  const origin = await startOrigin(t, {
    resource: () => ({ ...v1, ranges: false }),
    stallAt: (r) => (r.index === 0 ? 5 * MiB : undefined),
  });
  const gw = await startGateway(t, origin, { maxDiscardBytes: MiB });
  const d = await download(gw.url('/file'), { onBytes: failAt(gw, 5 * MiB, 'A') });
  assert.equal(d.complete, false);
  assertSame(d.body, body20.subarray(0, 5 * MiB));
  await gw.engine.close();
  assert.equal(gw.closed[0]?.error?.code, 'ROAM_GATEWAY_RESUME_REJECTED');
});

for (const chunked of [false, true]) {
  test(
    `content changed before the resume (${chunked ? 'chunked' : 'Content-Length'}): never mixed, the download fails`,
    T,
    async (t) => {
      const v2 = randomBytes(20 * MiB);
      const origin = await startOrigin(t, {
        resource: (r) => (r.index === 0 ? { ...v1, chunked } : { body: v2, etag: '"v2"', chunked }),
        stallAt: (r) => (r.index === 0 ? 5 * MiB : undefined),
      });
      const gw = await startGateway(t, origin);
      const d = await download(gw.url('/file'), { onBytes: failAt(gw, 5 * MiB, 'A') });
      assert.equal(d.complete, false, 'the client must see a failed download');
      assertSame(d.body, body20.subarray(0, 5 * MiB));
      assert.equal(origin.requests[1]?.headers['if-range'], '"v1"');
      await gw.engine.close();
      assert.equal(gw.closed[0]?.error?.code, 'ROAM_GATEWAY_RESUME_REJECTED');
    },
  );
}

test('POST cannot be resumed: the client connection ends like a failed server', T, async (t) => {
  const origin = await startOrigin(t, {
    resource: () => v1,
    stallAt: (r) => (r.index === 0 ? MiB : undefined),
  });
  const gw = await startGateway(t, origin);
  const d = await download(gw.url('/file'), {
    method: 'POST',
    body: Buffer.from('form=1'),
    onBytes: failAt(gw, MiB, 'A'),
  });
  assert.equal(d.complete, false);
  assertSame(d.body, body20.subarray(0, MiB));
  assert.equal(origin.requests.length, 1, 'a POST is never sent twice');
  await gw.engine.close();
  assert.equal(gw.closed[0]?.error?.code, 'ROAM_GATEWAY_NOT_RESUMABLE');
});

test('no other uplink: the download fails cleanly with ROAM_GATEWAY_NO_UPLINK', T, async (t) => {
  const origin = await startOrigin(t, {
    resource: () => v1,
    stallAt: (r) => (r.index === 0 ? MiB : undefined),
  });
  const gw = await startGateway(t, origin);
  gw.down.add('B');
  const d = await download(gw.url('/file'), { onBytes: failAt(gw, MiB, 'A') });
  assert.equal(d.complete, false);
  await gw.engine.close();
  assert.equal(gw.closed[0]?.error?.code, 'ROAM_GATEWAY_NO_UPLINK');
});
