// The closed loop and the latency record shared by the load generators of bench/names and
// bench/names-scale (bench/workers/names-load.ts, names-presence.ts).
import { monoMs } from './clock.js';

export interface LoadResult {
  ops: number;
  seconds: number;
  perSecond: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Operations including the warm-up: what CPU time is divided by. */
  totalOps?: number;
  /** CPU time (user + system) of the load process per operation, whole run. */
  loadCpuUsPerOp?: number;
  /** CPU time of the server's process per operation, whole run (set by bench/names). */
  serverCpuUsPerOp?: number;
}

/** Latencies of the measured window, bounded (a run keeps at most `cap` samples). */
export class Latencies {
  private samples = new Float64Array(1 << 16);
  count = 0;
  constructor(private readonly cap = 4_000_000) {}

  add(ms: number): void {
    if (this.count >= this.cap) return;
    if (this.count === this.samples.length) {
      const bigger = new Float64Array(Math.min(this.cap, this.samples.length * 2));
      bigger.set(this.samples);
      this.samples = bigger;
    }
    this.samples[this.count++] = ms;
  }

  result(ops: number, seconds: number, errors: number): LoadResult {
    const s = this.samples.slice(0, this.count).sort();
    const at = (q: number) => round(s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN);
    return {
      ops,
      seconds: round(seconds),
      perSecond: Math.round(ops / seconds),
      errors,
      p50Ms: at(0.5),
      p99Ms: at(0.99),
      maxMs: round(s[s.length - 1] ?? NaN),
    };
  }
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/** The element at `i`, wrapping around (lists here are never empty). */
export function at<T>(list: readonly T[], i: number): T {
  const x = list[i % list.length];
  if (x === undefined) throw new Error('empty list');
  return x;
}

/**
 * Runs `connections` loops of `op` until warmup + duration is over; counts and times only the
 * operations that start inside the measured window.
 */
export async function closedLoop(
  connections: number,
  warmupMs: number,
  durationMs: number,
  op: (i: number, n: number) => Promise<void>,
): Promise<LoadResult> {
  const lat = new Latencies();
  const start = monoMs();
  const from = start + warmupMs;
  const until = from + durationMs;
  let ops = 0;
  let total = 0;
  let errors = 0;
  await Promise.all(
    Array.from({ length: connections }, async (_, i) => {
      for (let n = 0; ; n++) {
        const t0 = monoMs();
        if (t0 >= until) return;
        let ok = true;
        try {
          await op(i, n);
        } catch {
          ok = false;
        }
        total++;
        if (t0 < from) continue;
        ops++;
        if (!ok) errors++;
        else lat.add(monoMs() - t0);
      }
    }),
  );
  return { ...lat.result(ops, durationMs / 1000, errors), totalOps: total };
}
