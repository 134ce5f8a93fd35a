import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { after, test } from 'node:test';
import type { MigrationCancelledInfo } from '../../src/gateway/http/options.js';
import { assertSame, download, MiB, openHandles, startGateway, startOrigin } from './helpers.js';

after(async () => assert.deepEqual(await openHandles(), [], 'handles left open'));

const T = { timeout: 60_000 };
const body = randomBytes(4 * MiB);

test(
  'the original uplink delivers again before the re-request is answered: migration cancelled',
  T,
  async (t) => {
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const origin = await startOrigin(t, {
      resource: () => ({ body, etag: '"v1"' }),
      pause: (r) => (r.index === 0 ? { at: MiB, until: released } : undefined),
      custom: (_req, _res, seen) => seen.index === 1, // the re-request is never answered
    });
    const cancelled: MigrationCancelledInfo[] = [];
    const gw = await startGateway(t, origin, { onMigrationCancelled: (c) => cancelled.push(c) });
    const pending = download(gw.url('/file'), {
      onBytes: (n) => {
        if (n === MiB) gw.engine.uplinkFailed('A');
      },
    });
    const reRequest = await origin.request(1);
    assert.equal(reRequest.headers.range, `bytes=${MiB}-`);
    assert.equal(gw.migrations.length, 1);
    release(); // uplink A is back: the original response goes on
    const d = await pending;
    assert.equal(d.complete, true);
    assertSame(d.body, body);
    assert.deepEqual(cancelled, [{ flow: 1, uplink: 'A', abandoned: 'B', offset: MiB }]);
    assert.equal(gw.splices.length, 0, 'nothing was spliced');
    const viaB = gw.upstreams.find((u) => u.uplink === 'B');
    assert.ok(viaB);
    if (!viaB.socket.destroyed) await once(viaB.socket, 'close');
    assert.equal(viaB.socket.destroyed, true, "the re-request's connection is closed");
  },
);

test(
  'once the re-request is answered, the original is dropped and a late byte changes nothing',
  T,
  async (t) => {
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const origin = await startOrigin(t, {
      resource: () => ({ body, etag: '"v1"' }),
      pause: (r) => (r.index === 0 ? { at: MiB, until: released } : undefined),
    });
    const cancelled: MigrationCancelledInfo[] = [];
    const gw = await startGateway(t, origin, { onMigrationCancelled: (c) => cancelled.push(c) });
    const d = await download(gw.url('/file'), {
      onBytes: (n) => {
        if (n === MiB) gw.engine.uplinkFailed('A');
        if (n === 2 * MiB) release(); // the original would resume now, but it was dropped
      },
    });
    assert.equal(d.complete, true);
    assertSame(d.body, body);
    assert.deepEqual(cancelled, []);
    assert.equal(gw.splices.length, 1);
    const viaA = gw.upstreams.find((u) => u.uplink === 'A');
    assert.equal(viaA?.socket.destroyed, true, 'the original connection was dropped at the splice');
  },
);
