import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { after, test } from 'node:test';
import { assertSame, download, MiB, openHandles, startGateway, startOrigin } from './helpers.js';

after(async () => assert.deepEqual(await openHandles(), [], 'handles left open'));

const T = { timeout: 60_000 };
const body = randomBytes(4 * MiB);

/** Resolves once the socket is connected (at once if it already is). */
async function connected(socket: Socket): Promise<void> {
  if (socket.connecting) await once(socket, 'connect');
}

/**
 * Starts a download of /file and, once 1 MiB has arrived, makes A suspect: returns the
 * download and the spare the engine opened on B for it, connected.
 */
async function suspectAtMiB(gw: Awaited<ReturnType<typeof startGateway>>) {
  let reached: () => void = () => undefined;
  const atMiB = new Promise<void>((resolve) => (reached = resolve));
  const pending = download(gw.url('/file'), {
    onBytes: (n) => {
      if (n === MiB) reached();
    },
  });
  await atMiB;
  assert.equal(gw.engine.uplinkSuspect('A'), 1);
  const spare = gw.upstreams.at(-1);
  assert.equal(spare?.uplink, 'B');
  await connected(spare.socket);
  return { pending, spare };
}

test(
  'a spare opened while A is suspect carries the re-request: no new connection at the failure',
  T,
  async (t) => {
    const origin = await startOrigin(t, {
      resource: () => ({ body, etag: '"v1"' }),
      stallAt: (r) => (r.index === 0 ? MiB : undefined),
    });
    const delivered: string[] = [];
    const gw = await startGateway(t, origin, {
      onDelivery: (id) => {
        if (delivered.at(-1) !== id) delivered.push(id);
      },
    });
    const { pending } = await suspectAtMiB(gw);
    assert.equal(origin.requests.length, 1, 'nothing is requested on the spare yet');
    gw.down.add('A');
    assert.equal(gw.engine.uplinkFailed('A'), 1);
    const d = await pending;
    assert.equal(d.error, undefined);
    assert.equal(d.complete, true);
    assertSame(d.body, body);
    assert.equal(origin.requests.length, 2);
    assert.equal(origin.requests[1]?.from, '127.0.0.3');
    assert.equal(origin.requests[1]?.headers.range, `bytes=${MiB}-`);
    assert.deepEqual(
      gw.upstreams.map((u) => u.uplink),
      ['A', 'B'],
      'the re-request used the spare: no third connection',
    );
    assert.deepEqual(
      gw.migrations.map((m) => [m.to, m.offset, m.spare]),
      [['B', MiB, true]],
    );
    assert.deepEqual(
      gw.splices.map((s) => [s.kind, s.offset, s.uplink]),
      [['range', MiB, 'B']],
    );
    assert.deepEqual(delivered, ['A', 'B'], 'origin bytes arrived through A, then through B');
  },
);

test('the suspicion clears: the spare is closed and the response stays on A', T, async (t) => {
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  const origin = await startOrigin(t, {
    resource: () => ({ body, etag: '"v1"' }),
    pause: (r) => (r.index === 0 ? { at: MiB, until: released } : undefined),
  });
  const gw = await startGateway(t, origin);
  const { pending, spare } = await suspectAtMiB(gw);
  gw.engine.uplinkCleared('A');
  if (!spare.socket.destroyed) await once(spare.socket, 'close');
  release();
  const d = await pending;
  assert.equal(d.complete, true);
  assertSame(d.body, body);
  assert.equal(origin.requests.length, 1);
  assert.deepEqual(gw.migrations, []);
  assert.equal(gw.upstreams.length, 2);
});

test('at most maxSpares spares, and none for a response that cannot be moved', T, async (t) => {
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  const origin = await startOrigin(t, {
    resource: () => ({ body, etag: '"v1"' }),
    pause: () => ({ at: MiB, until: released }),
  });
  const gw = await startGateway(t, origin, { maxSpares: 1 });
  let atMiB = 0;
  let reached: () => void = () => undefined;
  const both = new Promise<void>((resolve) => (reached = resolve));
  const onBytes = (n: number): void => {
    if (n === MiB && ++atMiB === 3) reached();
  };
  const downloads = [
    download(gw.url('/file'), { onBytes }),
    download(gw.url('/file'), { onBytes }),
    // A POST is never replayed: no spare for it.
    download(gw.url('/file'), { onBytes, method: 'POST', body: Buffer.from('x') }),
  ];
  await both;
  const gw2 = await startGateway(t, origin, { maxSpares: 8 });
  const post = download(gw2.url('/file'), {
    method: 'POST',
    body: Buffer.from('x'),
    onBytes: (n) => {
      if (n === MiB) {
        assert.equal(gw2.engine.uplinkSuspect('A'), 0, 'a POST response is not moved');
        release();
      }
    },
  });
  assert.equal(gw.engine.uplinkSuspect('A'), 1, 'capped at maxSpares');
  assert.equal(gw.engine.uplinkSuspect('A'), 0, 'still capped');
  gw.engine.uplinkCleared('A');
  assert.equal(gw.engine.uplinkSuspect('A'), 1, 'room again once the spare is closed');
  gw.engine.uplinkCleared('A');
  const results = await Promise.all([...downloads, post]);
  for (const d of results) {
    assert.equal(d.complete, true);
    assertSame(d.body, body);
  }
  assert.deepEqual(gw.migrations, []);
});
