import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isRoamError } from '../../src/errors.js';
import {
  arrival,
  Backup,
  BestPath,
  createScheduler,
  type PathView,
  pickEarliest,
} from '../../src/multipath/scheduler.js';

/** A path view: rates in bytes per ms, delays in ms. */
function path(id: number, over: Partial<PathView> = {}): PathView {
  return {
    id,
    alive: true,
    ready: true,
    inflight: 0,
    cap: 256 * 1024,
    rate: 1000,
    owdMs: 10,
    rttMs: 20,
    preferred: true,
    cost: 0,
    overCap: false,
    ...over,
  };
}

// A: 2.5 MB/s, 10 ms one way. B: 1 MB/s, 40 ms one way (the paths A and B).
const A = (over: Partial<PathView> = {}) => path(1, { rate: 2500, owdMs: 10, ...over });
const B = (over: Partial<PathView> = {}) => path(2, { rate: 1000, owdMs: 40, ...over });

test('arrival: queue ahead over the rate, plus the one-way delay', () => {
  assert.equal(arrival(A({ inflight: 25_000 }), 25_000), 30);
});

test('aggregate: a chunk goes where it arrives first', () => {
  assert.equal(pickEarliest([A(), B()], 16_384, 16_384), 1);
  // A's queue is long enough that B delivers sooner.
  assert.equal(pickEarliest([A({ inflight: 200_000 }), B()], 16_384, 1e9), 2);
});

test('aggregate: a short transfer waits for the fast path rather than use the slow one', () => {
  // A is full (not ready) but will deliver the 64 KB before B could deliver one chunk.
  const full = A({ ready: false, inflight: 50_000 });
  assert.equal(pickEarliest([full, B()], 16_384, 65_536), undefined);
});

test('aggregate: a bulk transfer fills the slow path too', () => {
  const full = A({ ready: false, inflight: 50_000 });
  assert.equal(pickEarliest([full, B()], 65_536, 50e6), 2);
});

test('aggregate: striping a bulk transfer gives each path bytes in proportion to its rate', () => {
  const paths = [A(), B()];
  const caps = new Map([
    [1, 2500 * 60],
    [2, 1000 * 60],
  ]);
  const sent = new Map([
    [1, 0],
    [2, 0],
  ]);
  // Simulate: every ms each path delivers `rate` bytes; the sender fills paths up to caps.
  for (let ms = 0; ms < 4000; ms++) {
    for (const p of paths) p.inflight = Math.max(0, p.inflight - p.rate);
    for (let i = 0; i < 100; i++) {
      for (const p of paths) p.ready = p.inflight < (caps.get(p.id) ?? 0);
      const id = pickEarliest(paths, 16_384, 1e9);
      if (id === undefined) break;
      const p = paths.find((x) => x.id === id) as PathView;
      p.inflight += 16_384;
      sent.set(id, (sent.get(id) ?? 0) + 16_384);
    }
  }
  const share = (sent.get(1) ?? 0) / ((sent.get(1) ?? 0) + (sent.get(2) ?? 0));
  assert.ok(Math.abs(share - 2.5 / 3.5) < 0.03, `A's share ${share.toFixed(3)}`);
});

test('aggregate: no alive path, or a dead one, gets nothing', () => {
  assert.equal(pickEarliest([A({ alive: false, ready: false })], 1, 1), undefined);
  assert.equal(pickEarliest([A({ alive: false, ready: false }), B()], 1, 1), 2);
});

test('best-path: the lowest RTT wins; hysteresis and dwell time stop flapping', () => {
  const s = new BestPath({ hysteresis: 0.2, marginMs: 5, minDwellMs: 1000 });
  const a = A({ rttMs: 20 });
  const b = B({ rttMs: 80 });
  assert.equal(s.pick([a, b], 1, 1, 0), 1);
  // Much better, but inside the minimum dwell time (counted from the first choice at 0).
  b.rttMs = 10;
  assert.equal(s.pick([a, b], 1, 1, 500), 1, 'inside the minimum dwell time');
  // Only a little better: not enough to switch.
  b.rttMs = 18;
  assert.equal(s.pick([a, b], 1, 1, 2000), 1);
  b.rttMs = 10;
  assert.equal(s.pick([a, b], 1, 1, 2100), 2, 'after the dwell time');
  assert.equal(s.switches, 1);
  // Flip back at once: refused until the dwell time passed.
  a.rttMs = 4;
  assert.equal(s.pick([a, b], 1, 1, 2200), 2);
  assert.equal(s.pick([a, b], 1, 1, 3200), 1);
  assert.equal(s.switches, 2);
});

test('best-path: a path that is not alive is left at once; a full chosen path means wait', () => {
  const s = new BestPath({ minDwellMs: 10_000 });
  assert.equal(s.pick([A({ rttMs: 20 }), B({ rttMs: 80 })], 1, 1, 0), 1);
  assert.equal(s.pick([A({ alive: false, ready: false }), B({ rttMs: 80 })], 1, 1, 1), 2);
  assert.equal(s.pick([A({ rttMs: 1 }), B({ rttMs: 80, ready: false })], 1, 1, 2), undefined);
});

test('backup: preferred paths only, until they are down or cannot carry the demand', () => {
  const s = new Backup({ demandMs: 500 });
  const wifi = A({ preferred: true });
  const cell = B({ preferred: false });
  assert.equal(s.pick([wifi, cell], 16_384, 1e6), 1);
  // Wi-Fi full, the backlog drains within 500 ms on it: wait for Wi-Fi.
  const full = A({ preferred: true, ready: false, inflight: 100_000 });
  assert.equal(s.pick([full, cell], 16_384, 500_000), undefined);
  // Backlog of 10 MB would take 4 s on Wi-Fi: bring cellular in.
  assert.equal(s.pick([full, cell], 16_384, 10e6), 2);
  // Wi-Fi down: cellular.
  assert.equal(s.pick([A({ alive: false, ready: false }), cell], 16_384, 1), 2);
});

test('backup: cheaper backups first, and a path over its byte cap is left out', () => {
  const s = new Backup();
  const cheap = path(3, { preferred: false, cost: 1 });
  const dear = path(4, { preferred: false, cost: 5 });
  assert.equal(s.pick([dear, cheap], 1, 1), 3);
  assert.equal(s.pick([dear, { ...cheap, overCap: true }], 1, 1), 4);
});

test('redundant schedules on every ready path; unknown names are refused', () => {
  const r = createScheduler('redundant');
  assert.equal(r.redundant, true);
  assert.throws(
    () => createScheduler('fastest' as never),
    (e: unknown) => isRoamError(e, 'ROAM_BAD_INPUT'),
  );
});
