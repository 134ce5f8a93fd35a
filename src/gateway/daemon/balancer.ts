import type { Uplink } from '../http/uplink.js';

export interface Candidate extends Uplink {
  readonly weight: number;
  readonly healthy: boolean;
}

/**
 * The engine's uplink choice: by weight among healthy uplinks not excluded. Pure but for
 * `random` (injectable).
 */
export function pickWeighted(
  candidates: readonly Candidate[],
  excluding: readonly string[],
  random: () => number = Math.random,
): Uplink | undefined {
  const pool = candidates.filter((c) => c.healthy && !excluding.includes(c.id));
  const total = pool.reduce((s, c) => s + c.weight, 0);
  let r = random() * total;
  for (const c of pool) {
    r -= c.weight;
    if (r < 0) return { id: c.id, localAddress: c.localAddress };
  }
  const last = pool[pool.length - 1];
  return last && { id: last.id, localAddress: last.localAddress };
}
