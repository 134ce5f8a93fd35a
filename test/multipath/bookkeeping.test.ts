import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isRoamError } from '../../src/errors.js';
import { PathLedger } from '../../src/multipath/path-ledger.js';
import { RateEstimator } from '../../src/multipath/rate-estimator.js';
import { ResendQueue } from '../../src/multipath/resend-queue.js';
import { ReplayWindow } from '../../src/session/replay-window.js';

test('path ledger: delivery settles ranges in order; in flight is sent minus delivered', () => {
  const l = new PathLedger();
  l.record(0, 100, 100);
  l.record(300, 400, 100);
  l.record(400, 401, 1); // a FIN
  assert.equal(l.inflight, 201);
  assert.deepEqual(
    [...l.outstanding(0)].map((r) => [r.seq, r.end]),
    [
      [0, 100],
      [300, 400],
      [400, 401],
    ],
  );
  assert.equal(l.deliver(150), 150);
  assert.equal(l.inflight, 51);
  assert.deepEqual(
    [...l.outstanding(0)].map((r) => [r.seq, r.end]),
    [
      [300, 400],
      [400, 401],
    ],
  );
  // The stream's ack passing a range does not remove it: the bytes still occupy the path.
  assert.deepEqual(l.oldest(401), undefined);
  assert.equal(l.deliver(140), 0, 'stale report');
  assert.throws(
    () => l.deliver(202),
    (e: unknown) => isRoamError(e, 'ROAM_PROTOCOL'),
  );
});

test('resend queue: merges, trims by ack, hands out the lowest first', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(1000), fc.integer({ min: 1, max: 200 })), { maxLength: 30 }),
      fc.nat(1200),
      (ranges, ack) => {
        const q = new ResendQueue();
        const want = new Set<number>();
        for (const [seq, len] of ranges) {
          q.add(seq, seq + len);
          for (let i = seq; i < seq + len; i++) want.add(i);
        }
        q.trim(ack);
        for (const i of [...want]) if (i < ack) want.delete(i);
        assert.equal(q.bytes, want.size);
        const got: number[] = [];
        let last = -1;
        for (let piece = q.take(37); piece; piece = q.take(37)) {
          assert.ok(piece.seq > last, 'lowest first, no overlap');
          assert.ok(piece.end - piece.seq <= 37);
          for (let i = piece.seq; i < piece.end; i++) got.push(i);
          last = piece.end - 1;
        }
        assert.deepEqual(
          got,
          [...want].sort((a, b) => a - b),
        );
        assert.equal(q.empty, true);
      },
    ),
  );
});

test('rate estimator: steady delivery gives its rate; a short idle spell does not lower it', () => {
  const r = new RateEstimator({ windowMs: 1000, spanMs: 20 });
  assert.equal(r.rate(0), undefined);
  let total = 0;
  for (let t = 0; t <= 500; t += 5) {
    total += 5 * 2500; // 2.5 MB/s
    r.onDelivered(total, t);
  }
  assert.ok(Math.abs((r.rate(500) ?? 0) - 2500) < 1, String(r.rate(500)));
  // 200 ms of nothing, then a trickle: the windowed maximum keeps what the path showed.
  for (let t = 700; t <= 800; t += 5) {
    total += 100;
    r.onDelivered(total, t);
  }
  assert.ok((r.rate(800) ?? 0) > 2000);
  // After the window, only recent measurements count.
  for (let t = 805; t <= 2000; t += 5) {
    total += 5 * 500;
    r.onDelivered(total, t);
  }
  assert.ok(Math.abs((r.rate(2000) ?? 0) - 500) < 1, String(r.rate(2000)));
});

test('rate estimator: a burst of reports after a wait is not taken for the rate over a two-RTT span', () => {
  // 1 MB/s reported every 5 ms, then a TCP loss: nothing for 160 ms (two RTTs of an 80 ms
  // path), then what arrived meanwhile within 5 ms (ten reports of 16 KB), then steady again.
  const feed = (r: RateEstimator, spanMs: number) => {
    let total = 0;
    let t = 0;
    for (; t < 500; t += 5) {
      total += 5 * 1000;
      r.onDelivered(total, t, spanMs);
    }
    t += 160;
    for (let i = 0; i < 10; i++, t += 0.5) {
      total += 16_000;
      r.onDelivered(total, t, spanMs);
    }
    for (let end = t + 100; t < end; t += 5) {
      total += 5 * 1000;
      r.onDelivered(total, t, spanMs);
    }
    return t;
  };
  const short = new RateEstimator({ windowMs: 1000, spanMs: 20 });
  const at = feed(short, 0);
  assert.ok((short.rate(at) ?? 0) > 5000, `20 ms span: the burst reads as ${short.rate(at)}`);
  const long = new RateEstimator({ windowMs: 1000, spanMs: 20 });
  feed(long, 160);
  const rate = long.rate(at) ?? 0;
  assert.ok(rate > 900 && rate < 1200, `two-RTT span: ${rate} bytes/ms`);
});

test('rate estimator: reports far more often than the span still give a rate', () => {
  // 50 MB/s reported every 0.1 ms (every 5 KB), measured over 100 ms: far more reports per
  // span than the estimator keeps points.
  const r = new RateEstimator({ windowMs: 1000, spanMs: 20 });
  let total = 0;
  for (let i = 1; i <= 3000; i++) {
    total += 5000;
    r.onDelivered(total, i / 10, 100);
  }
  const rate = r.rate(300) ?? 0;
  assert.ok(Math.abs(rate - 50_000) < 500, `rate ${rate}`);
});

test('replay window: each counter once, out of order within the window, never too old', () => {
  const w = new ReplayWindow(64);
  assert.equal(w.accept(0), false, 'counter 0 is never valid');
  assert.equal(w.accept(5), true);
  assert.equal(w.accept(3), true, 'out of order, within the window');
  assert.equal(w.accept(3), false, 'replayed');
  assert.equal(w.accept(5), false, 'replayed');
  assert.equal(w.accept(100), true);
  assert.equal(w.accept(36), false, 'older than the window');
  assert.equal(w.accept(37), true);
  assert.equal(w.highest, 100);
});
