// The one statistics module every benchmark reports with.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { max, mean, median, min, p99, percentile, range, spread } from '../../bench/lib/stats.js';

test('median: the middle of an odd count, the mean of the two middles of an even one', () => {
  assert.equal(median([5]), 5);
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([10, 20]), 15);
  assert.equal(median([7, 7, 1, 100, 7]), 7);
});

test('median does not reorder its input', () => {
  const xs = [3, 1, 2];
  median(xs);
  assert.deepEqual(xs, [3, 1, 2]);
});

test('median sorts numerically, not as text', () => {
  assert.equal(median([100, 9, 20]), 20);
});

test('empty input is a clear error for every statistic', () => {
  for (const f of [median, mean, range, min, max, p99, (xs: number[]) => percentile(xs, 50)])
    assert.throws(() => f([]), { name: 'RangeError', message: /of no values/ });
});

test('percentile by nearest rank: 0 is the minimum, 100 the maximum, always a sample', () => {
  const xs = [15, 20, 35, 40, 50];
  assert.equal(percentile(xs, 0), 15);
  assert.equal(percentile(xs, 5), 15);
  assert.equal(percentile(xs, 30), 20);
  assert.equal(percentile(xs, 40), 20);
  assert.equal(percentile(xs, 50), 35);
  assert.equal(percentile(xs, 100), 50);
  assert.equal(percentile([42], 99), 42);
});

test('p99 of 1..1000 is 990; of 1..100 it is 99', () => {
  const upTo = (n: number) => Array.from({ length: n }, (_, i) => n - i); // descending on purpose
  assert.equal(p99(upTo(1000)), 990);
  assert.equal(p99(upTo(100)), 99);
});

test('a percentile outside 0..100 is an error', () => {
  for (const p of [-1, 100.5, Number.NaN])
    assert.throws(() => percentile([1, 2], p), { name: 'RangeError', message: /within 0\.\.100/ });
});

test('mean, range, min, max, spread', () => {
  assert.equal(mean([1, 2, 3, 6]), 3);
  assert.deepEqual(range([4, -1, 9, 0]), [-1, 9]);
  assert.equal(min([4, -1, 9]), -1);
  assert.equal(max([4, -1, 9]), 9);
  assert.deepEqual(spread([3, 1, 2, 10]), { median: 2.5, range: [1, 10], n: 4 });
});

test('range of a list longer than the argument limit of Math.min(...xs)', () => {
  const xs = Array.from({ length: 500_000 }, (_, i) => i % 1000);
  assert.deepEqual(range(xs), [0, 999]);
});
