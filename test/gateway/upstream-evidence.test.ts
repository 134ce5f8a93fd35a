// What an upstream connection tells the health monitor about its uplink: fresh bytes read
// (onDelivery), bytes that waited while it was paused (not fresh), and bytes the kernel
// queues while it is paused (queuedMore).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { Upstream, type UpstreamSink } from '../../src/gateway/http/upstream.js';
import { ManualClock, openHandles } from './helpers.js';

after(async () => assert.deepEqual(await openHandles(), [], 'handles left open'));

const BODY = 8192;

/**
 * An upstream to a server that answers one GET with a 16 KiB body, the first half at once and
 * the rest on more(); the sink holds events until release(), so the upstream pauses.
 */
async function pausedUpstream(t: { after: (fn: () => unknown) => void }) {
  let server$: Socket | undefined;
  const server = createServer((socket) => {
    server$ = socket;
    socket.once('data', () => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${2 * BODY}\r\n\r\n`);
      socket.write(Buffer.alloc(BODY, 7));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const pending: number[] = [];
  const deliveries: string[] = [];
  let held = true;
  let received = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  const reached = (n: number) => new Promise<void>((resolve) => waiters.push({ n, resolve }));
  const sink: UpstreamSink = {
    onEvent: () => !held,
    onDrain: () => undefined,
    onBroken: () => undefined,
    onInvalid: () => undefined,
    onIdleClose: () => undefined,
  };
  const upstream = new Upstream(
    {
      uplink: { id: 'A', localAddress: '127.0.0.1' },
      origin: { host: '127.0.0.1', port },
      connect: ({ host, port: p }): Socket => {
        const socket = connect({ host, port: p });
        // Registered before Upstream's own listener: called first, then Upstream may pause;
        // the waiter runs after that.
        socket.on('data', (c: Buffer) => {
          received += c.length;
          for (const w of waiters.filter((x) => received >= x.n)) setImmediate(w.resolve);
        });
        return socket;
      },
      limits: { maxHeadBytes: 64 * 1024, maxHeaders: 100 },
      clock: new ManualClock(),
      connectTimeoutMs: 10_000,
      readBufferBytes: 1024,
      // Scripted: what FIONREAD would say, one value per call.
      kernelPending: () => pending.shift() ?? 0,
      onDelivery: (id) => deliveries.push(id),
    },
    sink,
  );
  t.after(() => {
    upstream.abandon();
    server.close();
  });
  upstream.send(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), 'GET');
  await reached(BODY);
  return {
    upstream,
    pending,
    deliveries,
    release: () => {
      held = false;
    },
    more: () => server$?.write(Buffer.alloc(BODY, 8)),
    reached,
  };
}

test('a paused socket: the kernel queueing more of its bytes is news, the same queue is not', async (t) => {
  const { upstream, pending, deliveries, release } = await pausedUpstream(t);
  assert.ok(deliveries.length > 0, 'the bytes read before the pause were fresh');
  pending.push(100);
  assert.equal(upstream.queuedMore(), false, 'the first call only takes the measure');
  pending.push(300);
  assert.equal(upstream.queuedMore(), true, 'more queued since');
  pending.push(300);
  assert.equal(upstream.queuedMore(), false, 'nothing new');
  release();
  pending.push(0); // FIONREAD at the resume
  upstream.resume();
  pending.push(500);
  assert.equal(upstream.queuedMore(), false, 'not paused any more: reads tell instead');
});

for (const [queuedAtResume, fresh] of [
  [1_000_000, false],
  [0, true],
] as const) {
  test(`after a pause, the next bytes are fresh only beyond what was queued (${queuedAtResume} queued)`, async (t) => {
    const { upstream, pending, deliveries, release, more, reached } = await pausedUpstream(t);
    const before = deliveries.length;
    release();
    // FIONREAD at the resume: what the kernel held then is old news when it is read.
    pending.push(queuedAtResume);
    upstream.resume();
    more();
    await reached(2 * BODY);
    assert.equal(deliveries.length > before, fresh);
  });
}
