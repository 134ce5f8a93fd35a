import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isRoamError } from '../../src/errors.js';
import { EmulatedLink } from '../../src/lab/emulated-link/index.js';
import {
  dial,
  measureRtt,
  type Rtt,
  readExactly,
  readToEnd,
  rig,
  sha256,
  startServer,
  writeAll,
} from './emulated-link.helpers.js';

const now = (): number => performance.now();
const KiB = 1024;
const MiB = 1024 * KiB;
const T = { timeout: 15_000 };

test('rejects bad options with ROAM_BAD_INPUT', async () => {
  await assert.rejects(
    EmulatedLink.start({ target: { host: '127.0.0.1', port: 9 }, delayMs: -1 }),
    (e) =>
      isRoamError(e, 'ROAM_BAD_INPUT') &&
      /delayMs must be a finite number >= 0, got -1/.test(e.message),
  );
  await assert.rejects(
    EmulatedLink.start({ target: { host: '127.0.0.1', port: 9 }, rateBitsPerSec: 0 }),
    (e) => isRoamError(e, 'ROAM_BAD_INPUT'),
  );
});

test('8 MiB echoed through the link at 5 ms delay, bytes intact, FIN carried', T, async (t) => {
  const { link, open } = await rig(t, { delayMs: 5 });
  const c = await open();
  const data = randomBytes(8 * MiB);
  const received = readToEnd(c);
  await writeAll(c, data);
  c.end();
  const back = await received;
  assert.equal(back.length, data.length);
  assert.equal(sha256(back), sha256(data));
  assert.equal(link.stats().bytesUp, data.length);
  assert.equal(link.stats().bytesDown, data.length);
});

// The emulator never releases a byte early, so scheduler noise (other test files share the
// CPU) can only add time: the minimum RTT is the estimate, the median is only reported.
const fmtRtt = (r: Rtt): string => `min ${r.min.toFixed(2)} / median ${r.median.toFixed(2)} ms`;

test('added delay: RTT is 2x delay', T, async (t) => {
  const base = await rig(t, { delayMs: 0 });
  const rtt0 = await measureRtt(await base.open(), 15, now);
  const slow = await rig(t, { delayMs: 20 });
  const rtt20 = await measureRtt(await slow.open(), 15, now);
  t.diagnostic(`RTT at 0 ms: ${fmtRtt(rtt0)}; at 20 ms: ${fmtRtt(rtt20)}`);
  assert.ok(rtt0.min < 2, `baseline RTT ${rtt0.min} ms`);
  assert.ok(Math.abs(rtt20.min - 40) <= 2, `RTT ${rtt20.min} ms, want 40 +/- 2`);
});

test('setDelay at run time changes the RTT of a live connection', T, async (t) => {
  const { link, open } = await rig(t, { delayMs: 5 });
  const c = await open();
  const before = await measureRtt(c, 15, now);
  link.setDelay(25);
  await measureRtt(c, 1, now); // the one round trip that straddles the change
  const after = await measureRtt(c, 15, now);
  t.diagnostic(`RTT at 5 ms: ${fmtRtt(before)}; after setDelay(25): ${fmtRtt(after)}`);
  assert.ok(Math.abs(before.min - 10) <= 2, `RTT ${before.min} ms, want 10 +/- 2`);
  assert.ok(Math.abs(after.min - 50) <= 2, `RTT ${after.min} ms, want 50 +/- 2`);
});

for (const mbit of [20, 80]) {
  test(`rate: one-way throughput at ${mbit} Mbit/s within 10%`, T, async (t) => {
    const rate = mbit * 1e6;
    const sink = await startServer();
    const { open } = await rig(t, { rateBitsPerSec: rate }, sink);
    const c = await open();
    const s = await sink.nth(0);
    const data = randomBytes(Math.round(rate / 8)); // ~1 s worth
    const t0 = now();
    const got = readToEnd(s);
    await writeAll(c, data);
    c.end();
    const back = await got;
    const secs = (now() - t0) / 1000;
    const measured = (back.length * 8) / secs;
    t.diagnostic(`${(measured / 1e6).toFixed(2)} Mbit/s measured for ${mbit} Mbit/s`);
    assert.equal(sha256(back), sha256(data));
    assert.ok(Math.abs(measured - rate) <= rate * 0.1, `${measured} bit/s`);
  });
}

test(
  'stall: a black hole both ways; in-flight bytes lost; new connections, FIN held',
  T,
  async (t) => {
    // Collect from accept on: a FIN can reach a socket before the test gets hold of it.
    const collected: Promise<Buffer>[] = [];
    const srv = await startServer((sock) => collected.push(readToEnd(sock)));
    const { link, open } = await rig(t, { delayMs: 10, bufferBytes: 16 * KiB }, srv);
    const c = await open();
    const s = await srv.nth(0);
    c.write('hello');
    assert.equal((await readExactly(s, 5)).toString(), 'hello');

    const seen: string[] = [];
    for (const [who, sock] of [
      ['client', c],
      ['server', s],
    ] as const) {
      sock.on('data', (b: Buffer) => seen.push(`${who} data ${b.length}`));
      for (const ev of ['end', 'error', 'close']) sock.on(ev, () => seen.push(`${who} ${ev}`));
    }
    const blob = 100 * KiB;
    let dropped = 0;
    const allDropped = new Promise<void>((resolve) =>
      link.on('drop', ({ bytes }) => {
        dropped += bytes;
        if (dropped >= 2 * blob + 4) resolve();
      }),
    );
    // Bytes are in flight inside the emulator (its 16 KiB queue is full) when the stall starts.
    const inFlight = once(link, 'backpressure');
    c.write(randomBytes(blob));
    await inFlight;
    link.stall();
    s.write(randomBytes(blob));
    s.end(); // a FIN sent into the black hole waits for resume()
    // Completes (the kernel does the handshake) but is held short of the server; its bytes are
    // dropped and its FIN waits for resume().
    const late = await open();
    late.end('lost');
    await allDropped;
    // The stall itself lasts 100 ms (10x the delay): any byte the emulator kept would show.
    await sleep(100);
    assert.deepEqual(seen, []);
    assert.equal(srv.accepted.length, 1, 'held connection must not reach the server');
    assert.equal(link.stats().droppedDuringStall, 2 * blob + 4);

    link.resume();
    const up = readExactly(s, 5);
    const down = readToEnd(c);
    c.write('after');
    // FIFO: had any stalled byte survived, it would arrive ahead of the marker or the FIN.
    assert.equal((await up).toString(), 'after');
    assert.equal((await down).length, 0);
    const s2 = await srv.nth(1);
    assert.equal((await collected[1])?.length, 0);
    const flows = readExactly(late, 4);
    s2.write('late');
    assert.equal((await flows).toString(), 'late');
  },
);

test('cut with reset: both ends see ECONNRESET promptly', T, async (t) => {
  const srv = await startServer();
  const { link, open } = await rig(t, {}, srv);
  const c = await open();
  const s = await srv.nth(0);
  const cErr = once(c, 'error');
  const sErr = once(s, 'error');
  const cut = once(link, 'cut');
  const t0 = now();
  assert.equal(link.cut({ reset: true }), 1);
  const [err] = (await cErr) as [NodeJS.ErrnoException];
  const [serr] = (await sErr) as [NodeJS.ErrnoException];
  const ms = now() - t0;
  t.diagnostic(`client saw ${err.code} after ${ms.toFixed(2)} ms`);
  assert.equal(err.code, 'ECONNRESET');
  assert.equal(serr.code, 'ECONNRESET');
  assert.ok(ms < 500);
  assert.deepEqual((await cut)[0], { reset: true, connections: 1, reason: 'cut' });
});

test('cut without reset: both ends see a clean end', T, async (t) => {
  const srv = await startServer();
  const { link, open } = await rig(t, {}, srv);
  const c = await open();
  const s = await srv.nth(0);
  let errors = 0;
  c.on('error', () => errors++);
  const ends = Promise.all([once(c, 'end'), once(s, 'end')]);
  link.cut({ reset: false });
  await ends;
  assert.equal(errors, 0);
});

test('down refuses with ECONNREFUSED and cuts; up restores the same address', T, async (t) => {
  const { link, open } = await rig(t);
  const c = await open();
  const cErr = once(c, 'error');
  const port = link.address.port;
  await link.down();
  assert.equal(((await cErr)[0] as NodeJS.ErrnoException).code, 'ECONNRESET');
  await assert.rejects(dial(port), (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED');
  await link.up();
  assert.equal(link.address.port, port);
  const c2 = await open();
  const echo = readExactly(c2, 4);
  c2.write('ping');
  assert.equal((await echo).toString(), 'ping');
});

test(
  'backpressure: a server that does not read bounds the queue and blocks the client',
  T,
  async (t) => {
    const bufferBytes = 256 * KiB;
    const srv = await startServer((s) => s.pause());
    const { link, open } = await rig(t, { bufferBytes }, srv);
    const c = await open();
    const s = await srv.nth(0);
    const data = randomBytes(64 * MiB);
    const paused = new Promise<void>((resolve) =>
      link.on('backpressure', (e) => e.direction === 'up' && e.paused && resolve()),
    );
    let onFalse: () => void = () => {};
    const writing = writeAll(c, data, 64 * KiB, () => onFalse());
    await paused;
    // Once the emulator has stopped reading, the client's write() must end up returning false.
    if (!c.writableNeedDrain) await new Promise<void>((resolve) => (onFalse = resolve));
    const writtenAtBlock = c.bytesWritten;
    // A piece read by the socket (<= 64 KiB) may land on top of a full queue before pause().
    const bound = bufferBytes + 64 * KiB;
    t.diagnostic(
      `client blocked after ${writtenAtBlock} B; emulator queue ${link.queuedBytes} B, peak ${link.stats().peakQueuedBytes} B`,
    );
    assert.ok(writtenAtBlock < data.length);
    assert.ok(link.queuedBytes <= bound);

    const got = readToEnd(s);
    s.resume();
    const report = await writing;
    c.end();
    const back = await got;
    assert.ok(report.falses > 0);
    assert.equal(back.length, data.length);
    assert.equal(sha256(back), sha256(data));
    assert.ok(link.stats().peakQueuedBytes <= bound, `peak ${link.stats().peakQueuedBytes}`);
  },
);
