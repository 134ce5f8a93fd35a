import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import { download, MiB, openHandles, startGateway, startOrigin } from './helpers.js';

after(async () => assert.deepEqual(await openHandles(), [], 'handles left open'));

test(
  'resetUplink: clients on that uplink get a reset at once, others carry on',
  { timeout: 60_000 },
  async (t) => {
    const body = randomBytes(2 * MiB);
    const origin = await startOrigin(t, {
      resource: () => ({ body, etag: '"v1"' }),
      stallAt: (r) => (r.index === 0 ? MiB : undefined), // the first download hangs on A
    });
    const gw = await startGateway(t, origin);
    const stalled = download(gw.url('/file'));
    await origin.stall(0);
    gw.down.add('A'); // the next flow goes to B
    const healthy = download(gw.url('/file'));
    assert.equal(gw.engine.resetUplink('A'), 1);
    const d = await stalled;
    assert.equal(d.complete, false);
    assert.equal((d.error as NodeJS.ErrnoException | undefined)?.code, 'ECONNRESET');
    const h = await healthy;
    assert.equal(h.complete, true);
    assert.ok(h.body.equals(body));
    assert.equal(gw.migrations.length, 0, 'nothing was moved');
  },
);
