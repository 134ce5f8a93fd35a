import { RoamError } from '../../errors.js';

/** Bytes one delivery opportunity carries (Mahimahi's MTU-sized packet). */
export const TRACE_OPPORTUNITY_BYTES = 1504;

/**
 * A Mahimahi bandwidth trace: each entry is one delivery opportunity of up to 1504 bytes at
 * that millisecond; the schedule loops every `periodMs`. As in Mahimahi's file format the
 * period is the last timestamp, so the last opportunity is always at `periodMs`.
 */
export interface BandwidthTrace {
  /** Sorted, non-negative integer milliseconds; repeats mean several opportunities. */
  readonly opportunitiesMs: readonly number[];
  readonly periodMs: number;
}

/** Throws ROAM_BAD_INPUT unless `trace` is a well-formed BandwidthTrace. */
export function validateTrace(trace: BandwidthTrace, what = 'trace'): void {
  const { opportunitiesMs: opp, periodMs } = trace;
  if (!Number.isSafeInteger(periodMs) || periodMs <= 0) {
    throw new RoamError(
      'ROAM_BAD_INPUT',
      `${what}: periodMs must be a positive integer, got ${periodMs}`,
    );
  }
  if (opp.length === 0) {
    throw new RoamError('ROAM_BAD_INPUT', `${what}: needs at least one delivery opportunity`);
  }
  let prev = 0;
  for (const [i, ms] of opp.entries()) {
    if (!Number.isSafeInteger(ms) || ms < prev) {
      throw new RoamError(
        'ROAM_BAD_INPUT',
        `${what}: opportunitiesMs[${i}] must be an integer >= ${prev} (sorted, non-negative), got ${ms}`,
      );
    }
    prev = ms;
  }
  if (prev !== periodMs) {
    throw new RoamError(
      'ROAM_BAD_INPUT',
      `${what}: the last opportunity (${prev} ms) must equal periodMs (${periodMs}), as in Mahimahi files`,
    );
  }
}

/** Mean delivery rate in bit/s if every opportunity is used in full. */
export function traceMeanRateBps(trace: BandwidthTrace): number {
  return (trace.opportunitiesMs.length * TRACE_OPPORTUNITY_BYTES * 8 * 1000) / trace.periodMs;
}
