// The statistics every benchmark reports: median, percentile, mean and range of a list of
// samples. One definition each, so two benchmarks' "median" are the same figure.
// An empty list is an error, not NaN: a row with no samples must say so itself (callers that
// can have none check `xs.length` and write what their table shows then).

function nonEmpty(what: string, xs: readonly number[]): void {
  if (xs.length === 0) throw new RangeError(`${what} of no values: the list of samples is empty`);
}

const ascending = (xs: readonly number[]) => [...xs].sort((a, b) => a - b);

/** The middle value; for an even count, the mean of the two middle values. */
export function median(xs: readonly number[]): number {
  nonEmpty('median', xs);
  const s = ascending(xs);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/**
 * The p-th percentile (0 ≤ p ≤ 100) by nearest rank: the smallest sample with at least p % of
 * the samples at or below it. p = 0 is the minimum, p = 100 the maximum; always a sample.
 */
export function percentile(xs: readonly number[], p: number): number {
  nonEmpty(`percentile ${p}`, xs);
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  const s = ascending(xs);
  const rank = Math.max(1, Math.ceil((p / 100) * s.length));
  return s[rank - 1] as number;
}

/** The 99th percentile (nearest rank). */
export const p99 = (xs: readonly number[]): number => percentile(xs, 99);

export function mean(xs: readonly number[]): number {
  nonEmpty('mean', xs);
  let sum = 0;
  for (const x of xs) sum += x;
  return sum / xs.length;
}

/** [lowest, highest]; a loop, not Math.min(...xs), so a long list cannot overflow the stack. */
export function range(xs: readonly number[]): [number, number] {
  nonEmpty('range', xs);
  let lo = xs[0] as number;
  let hi = lo;
  for (const x of xs) {
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  return [lo, hi];
}

export const min = (xs: readonly number[]): number => range(xs)[0];
export const max = (xs: readonly number[]): number => range(xs)[1];

/** Median and range of a list: how benchmarks report repeated trials. */
export interface Spread {
  median: number;
  range: [number, number];
  n: number;
}

export function spread(xs: readonly number[]): Spread {
  return { median: median(xs), range: range(xs), n: xs.length };
}
