// The trial runner: rounds alternate who goes first, ratios are taken within a round.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  alternatingRounds,
  pairedRatios,
  pairedTrials,
  roundOrder,
} from '../../bench/lib/trials.js';

test('roundOrder: as given on even rounds, reversed on odd ones', () => {
  assert.deepEqual(roundOrder(['a', 'b', 'c'], 0), ['a', 'b', 'c']);
  assert.deepEqual(roundOrder(['a', 'b', 'c'], 1), ['c', 'b', 'a']);
  assert.deepEqual(roundOrder(['a', 'b', 'c'], 2), ['a', 'b', 'c']);
});

test('alternatingRounds runs groups in turn, each group alternating, one sample a round', async () => {
  const calls: string[] = [];
  const got = await alternatingRounds(
    3,
    [
      ['x1', 'x2'],
      ['y1', 'y2', 'y3'],
    ],
    async (k, round) => {
      calls.push(`${round}:${k}`);
      return `${k}@${round}`;
    },
  );
  assert.deepEqual(calls, [
    ...['0:x1', '0:x2', '0:y1', '0:y2', '0:y3'],
    ...['1:x2', '1:x1', '1:y3', '1:y2', '1:y1'],
    ...['2:x1', '2:x2', '2:y1', '2:y2', '2:y3'],
  ]);
  assert.deepEqual(got.get('y2'), ['y2@0', 'y2@1', 'y2@2']);
  assert.equal(got.size, 5);
});

test('pairedRatios: per round, with median and range', () => {
  const r = pairedRatios([9, 10, 12], [10, 10, 10]);
  assert.deepEqual(r.ratios, [0.9, 1, 1.2]);
  assert.equal(r.median, 1);
  assert.deepEqual(r.range, [0.9, 1.2]);
});

test('pairedRatios refuses lists of different lengths and empty lists', () => {
  assert.throws(() => pairedRatios([1, 2], [1]), /one anchor per round/);
  assert.throws(() => pairedRatios([], []), /of no values/);
});

test('pairedTrials: anchor first on even rounds, the ratio cancels a drift between rounds', async () => {
  const order: string[] = [];
  // The host gets slower each round; the subject is always 0.8 × the anchor in its round.
  const r = await pairedTrials(
    4,
    {
      anchor: async (round) => (order.push(`a${round}`), 100 / (round + 1)),
      subject: async (round) => (order.push(`s${round}`), 80 / (round + 1)),
    },
    (x) => x,
  );
  assert.deepEqual(order, ['a0', 's0', 's1', 'a1', 'a2', 's2', 's3', 'a3']);
  assert.equal(r.anchor.length, 4);
  assert.ok(Math.abs(r.ratio.median - 0.8) < 1e-12);
  assert.ok(Math.abs(r.ratio.range[0] - 0.8) < 1e-12 && Math.abs(r.ratio.range[1] - 0.8) < 1e-12);
});
