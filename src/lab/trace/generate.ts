import { RoamError } from '../../errors.js';
import { type BandwidthTrace, TRACE_OPPORTUNITY_BYTES } from './trace.js';

export type TraceKind = 'lte-steady' | 'fluctuating' | 'outages';
export const TRACE_KINDS: readonly TraceKind[] = ['lte-steady', 'fluctuating', 'outages'];

/** mulberry32: tiny, seedable, good enough to shape synthetic traces. Returns [0, 1). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const between = (rand: () => number, lo: number, hi: number) => lo + (hi - lo) * rand();

/** Rate in bit/s for each millisecond of the trace. */
type RateAt = (ms: number) => number;

function lteSteady(rand: () => number): RateAt {
  // +-10% noise that changes every 100 ms around 20 Mbit/s.
  let factor = 1;
  return (ms) => {
    if (ms % 100 === 0) factor = between(rand, 0.9, 1.1);
    return 20e6 * factor;
  };
}

function fluctuating(rand: () => number): RateAt {
  // Random walk in log space with 500 ms steps, reflected into 2..30 Mbit/s.
  const lo = Math.log(2e6);
  const hi = Math.log(30e6);
  let level = Math.log(10e6);
  return (ms) => {
    if (ms % 500 === 0 && ms > 0) {
      level += between(rand, -0.45, 0.45);
      if (level < lo) level = 2 * lo - level;
      if (level > hi) level = 2 * hi - level;
    }
    return Math.exp(level);
  };
}

function outages(rand: () => number): RateAt {
  // ~15 Mbit/s; every 10-20 s of service the link goes silent for 1-5 s.
  let factor = 1;
  let outageStart = Math.round(between(rand, 10_000, 20_000));
  let outageEnd = outageStart + Math.round(between(rand, 1000, 5000));
  return (ms) => {
    if (ms >= outageEnd) {
      outageStart = outageEnd + Math.round(between(rand, 10_000, 20_000));
      outageEnd = outageStart + Math.round(between(rand, 1000, 5000));
    }
    if (ms % 100 === 0) factor = between(rand, 0.9, 1.1);
    return ms >= outageStart ? 0 : 15e6 * factor;
  };
}

const SHAPES: Record<TraceKind, (rand: () => number) => RateAt> = {
  'lte-steady': lteSteady,
  fluctuating,
  outages,
};

/**
 * A synthetic trace, pure and deterministic for a given kind, duration and seed. Rates turn
 * into opportunities by accumulating fractional credit per millisecond, so the mean rate is
 * exact and opportunities are evenly spread. The last opportunity sits at durationMs (the
 * Mahimahi period).
 */
export function generateTrace(
  kind: TraceKind,
  opts: { durationMs: number; seed: number },
): BandwidthTrace {
  const { durationMs, seed } = opts;
  if (!Number.isSafeInteger(durationMs) || durationMs < 1) {
    throw new RoamError(
      'ROAM_BAD_INPUT',
      `durationMs must be a positive integer, got ${durationMs}`,
    );
  }
  const shape = SHAPES[kind];
  if (!shape) {
    throw new RoamError(
      'ROAM_BAD_INPUT',
      `unknown trace kind '${kind}'; use one of ${TRACE_KINDS.join(', ')}`,
    );
  }
  const rateAt = shape(prng(seed));
  const perMs = 1 / (TRACE_OPPORTUNITY_BYTES * 8 * 1000);
  const opportunitiesMs: number[] = [];
  let credit = 0;
  for (let ms = 0; ms < durationMs; ms++) {
    credit += rateAt(ms) * perMs;
    for (; credit >= 1; credit--) opportunitiesMs.push(ms);
  }
  opportunitiesMs.push(durationMs);
  return { opportunitiesMs, periodMs: durationMs };
}
