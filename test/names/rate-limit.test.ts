import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isRoamError } from '../../src/errors.js';
import { ManualClock } from '../../src/names/clock.js';
import { RateLimiter } from '../../src/names/http/rate-limit.js';

test('token bucket: burst, then the refill rate; keys are independent', () => {
  const clock = new ManualClock(0);
  const r = new RateLimiter('per test', { perSecond: 10, burst: 3 }, clock);
  assert.deepEqual([r.tryTake('a'), r.tryTake('a'), r.tryTake('a')], [0, 0, 0]);
  assert.equal(r.tryTake('a'), 100);
  assert.equal(r.tryTake('b'), 0);
  clock.advance(50);
  assert.equal(r.tryTake('a'), 50);
  clock.advance(50);
  assert.equal(r.tryTake('a'), 0);
  clock.advance(10_000);
  assert.deepEqual(
    [0, 0, 0].map(() => r.tryTake('a')),
    [0, 0, 0],
    'never more than the burst',
  );
  assert.throws(
    () => r.take('a'),
    (e) => isRoamError(e, 'ROAM_NAMES_RATE_LIMITED') && /per test; retry in 100 ms/.test(e.message),
  );
});

test('token bucket: a clock that steps back grants nothing; the table is bounded', () => {
  const clock = new ManualClock(10_000);
  const r = new RateLimiter('x', { perSecond: 1, burst: 1 }, clock, 3);
  assert.equal(r.tryTake('a'), 0);
  clock.advance(-5000);
  assert.ok(r.tryTake('a') > 0);
  for (const k of ['b', 'c', 'd', 'e']) r.tryTake(k);
  assert.equal(r.size, 3);
});

test('token bucket: past the bound the least recently used key is forgotten, not a busy one', () => {
  const clock = new ManualClock(0);
  const r = new RateLimiter('x', { perSecond: 1, burst: 1 }, clock, 3);
  for (const k of ['a', 'b', 'c']) assert.equal(r.tryTake(k), 0);
  assert.ok(r.tryTake('a') > 0, 'a is drained, and now the most recent');
  assert.equal(r.tryTake('d'), 0); // b, the least recent, is forgotten
  assert.equal(r.size, 3);
  assert.ok(r.tryTake('a') > 0, 'a is still drained');
  assert.ok(r.tryTake('c') > 0, 'c is still drained');
  assert.equal(r.tryTake('b'), 0, 'b was forgotten: a full bucket again');
  assert.equal(r.size, 3);
  assert.equal(r.tryTake('d'), 0, 'd was the least recent: forgotten when b came back');
  // d coming back pushed out a, now the least recent; c and b stay drained.
  assert.ok(r.tryTake('c') > 0 && r.tryTake('b') > 0);
  assert.equal(r.tryTake('a'), 0);
});
