import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isRoamError, type RoamErrorCode } from '../../src/errors.js';
import { RttEstimator, defaultRttOptions } from '../../src/session/rtt.js';

const code = (c: RoamErrorCode) => (err: unknown) => isRoamError(err, c);

test('before any sample: no SRTT, RTO is the initial 1 s', () => {
  const e = new RttEstimator();
  assert.equal(e.srtt, undefined);
  assert.equal(e.rttvar, undefined);
  assert.equal(e.rto, 1000);
  assert.equal(e.samples, 0);
  assert.deepEqual(e.options, defaultRttOptions);
});

test('RFC 6298 by hand: first sample, then alpha = 1/8 and beta = 1/4', () => {
  const e = new RttEstimator({ minRtoMs: 0 });
  // First: SRTT = R, RTTVAR = R/2, RTO = SRTT + max(G, 4·RTTVAR) = 100 + 200.
  e.sample(100);
  assert.deepEqual([e.srtt, e.rttvar, e.rto, e.samples], [100, 50, 300, 1]);
  // RTTVAR = 3/4·50 + 1/4·|100 - 200| = 62.5 (old SRTT); SRTT = 7/8·100 + 1/8·200 = 112.5.
  e.sample(200);
  assert.deepEqual([e.srtt, e.rttvar, e.rto], [112.5, 62.5, 112.5 + 250]);
  // RTTVAR = 3/4·62.5 + 1/4·|112.5 - 100| = 50; SRTT = 7/8·112.5 + 1/8·100 = 110.9375.
  e.sample(100);
  assert.deepEqual([e.srtt, e.rttvar, e.rto], [110.9375, 50, 310.9375]);
  assert.equal(e.samples, 3);
});

test('RTO is clamped to [minRtoMs, maxRtoMs]', () => {
  const e = new RttEstimator(); // min 200
  e.sample(10); // 10 + max(1, 20) = 30 → 200
  assert.equal(e.rto, 200);
  const slow = new RttEstimator({ maxRtoMs: 5000, initialRtoMs: 1000 });
  slow.sample(4000); // 4000 + 8000 → 5000
  assert.equal(slow.rto, 5000);
});

test('granularity G is the floor of the variance term', () => {
  const e = new RttEstimator({ minRtoMs: 0, granularityMs: 10 });
  e.sample(0);
  assert.deepEqual([e.srtt, e.rttvar, e.rto], [0, 0, 10]);
  e.sample(0);
  assert.equal(e.rto, 10);
  const fine = new RttEstimator({ minRtoMs: 0 }); // G = 1
  fine.sample(40); // 40 + max(1, 80)
  assert.equal(fine.rto, 120);
  for (let i = 0; i < 200; i++) fine.sample(40); // RTTVAR decays towards 0: RTO → 40 + G
  assert.ok(fine.rto >= 41 && fine.rto < 41.01, String(fine.rto));
});

test('backoff doubles RTO up to maxRtoMs; the next sample recomputes it', () => {
  const e = new RttEstimator({ maxRtoMs: 10_000 });
  e.backoff();
  assert.equal(e.rto, 2000);
  e.backoff();
  e.backoff();
  assert.equal(e.rto, 8000);
  e.backoff();
  assert.equal(e.rto, 10_000);
  e.backoff();
  assert.equal(e.rto, 10_000);
  e.sample(100); // 100 + 200
  assert.equal(e.rto, 300);
  e.backoff();
  assert.equal(e.rto, 600);
});

test('negative, NaN and infinite samples are rejected and change nothing', () => {
  const e = new RttEstimator();
  e.sample(100);
  for (const bad of [-1, NaN, Infinity, -Infinity])
    assert.throws(() => e.sample(bad), code('ROAM_BAD_INPUT'), String(bad));
  assert.deepEqual([e.srtt, e.rttvar, e.samples], [100, 50, 1]);
});

test('options are validated with messages that say what to change', () => {
  assert.throws(() => new RttEstimator({ minRtoMs: -1 }), code('ROAM_BAD_INPUT'));
  assert.throws(() => new RttEstimator({ granularityMs: NaN }), code('ROAM_BAD_INPUT'));
  assert.throws(
    () => new RttEstimator({ maxRtoMs: 0, minRtoMs: 0, initialRtoMs: 0 }),
    code('ROAM_BAD_INPUT'),
  );
  assert.throws(
    () => new RttEstimator({ minRtoMs: 500, maxRtoMs: 400 }),
    (err: unknown) => isRoamError(err, 'ROAM_BAD_INPUT') && /minRtoMs/.test(err.message),
  );
  assert.throws(
    () => new RttEstimator({ maxRtoMs: 500 }), // the default initial 1000 is above it
    (err: unknown) => isRoamError(err, 'ROAM_BAD_INPUT') && /set initialRtoMs/.test(err.message),
  );
  assert.equal(new RttEstimator({ maxRtoMs: 500, initialRtoMs: 500 }).rto, 500);
  assert.equal(new RttEstimator({ initialRtoMs: undefined }).rto, 1000);
});

test('property: SRTT stays within the samples seen, RTO within its bounds', () => {
  fc.assert(
    fc.property(
      fc.array(fc.double({ min: 0, max: 100_000, noNaN: true }), { minLength: 1, maxLength: 50 }),
      fc.array(fc.boolean(), { maxLength: 50 }),
      (samples, backoffs) => {
        const e = new RttEstimator();
        samples.forEach((r, i) => {
          e.sample(r);
          if (backoffs[i] === true) e.backoff();
          const seen = samples.slice(0, i + 1);
          const srtt = e.srtt ?? NaN;
          assert.ok(srtt >= Math.min(...seen) - 1e-9 && srtt <= Math.max(...seen) + 1e-9);
          assert.ok((e.rttvar ?? -1) >= 0);
          assert.ok(e.rto >= 200 && e.rto <= 60_000, String(e.rto));
        });
        assert.equal(e.samples, samples.length);
      },
    ),
  );
});
