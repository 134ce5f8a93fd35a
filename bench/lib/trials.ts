// Repeated trials, with roam measured back to back with its anchor in each round. On these
// shared VMs the host drifts between rounds (±30% on one stream), so a ratio taken within a
// round is steadier than a ratio of two medians; alternating who goes first keeps a drift
// within the round from favouring either side.
import { median, range } from './stats.js';

/** `list` as the round runs it: in order on even rounds, reversed on odd ones. */
export function roundOrder<T>(list: readonly T[], round: number): T[] {
  return round % 2 === 0 ? [...list] : [...list].reverse();
}

/**
 * Runs `rounds` rounds. In each, the groups run one after another, and within a group every
 * entry once, its order alternating by round. Returns each entry's samples, one per round.
 */
export async function alternatingRounds<K, S>(
  rounds: number,
  groups: readonly (readonly K[])[],
  measure: (entry: K, round: number) => Promise<S>,
): Promise<Map<K, S[]>> {
  const out = new Map<K, S[]>();
  for (const g of groups) for (const k of g) out.set(k, []);
  for (let round = 0; round < rounds; round++)
    for (const g of groups)
      for (const k of roundOrder(g, round)) (out.get(k) as S[]).push(await measure(k, round));
  return out;
}

/** Per-round ratios of a subject's figure over its anchor's in the same round. */
export interface PairedRatios {
  ratios: number[];
  median: number;
  range: [number, number];
}

export function pairedRatios(subject: readonly number[], anchor: readonly number[]): PairedRatios {
  if (subject.length !== anchor.length)
    throw new RangeError(
      `paired ratios need one anchor per round: ${subject.length} vs ${anchor.length}`,
    );
  const ratios = subject.map((x, i) => x / (anchor[i] as number));
  return { ratios, median: median(ratios), range: range(ratios) };
}

/**
 * `rounds` rounds of an anchor and a subject back to back (anchor first on even rounds) and
 * the per-round ratios of `figure`.
 */
export async function pairedTrials<S>(
  rounds: number,
  run: { anchor: (round: number) => Promise<S>; subject: (round: number) => Promise<S> },
  figure: (s: S) => number,
): Promise<{ anchor: S[]; subject: S[]; ratio: PairedRatios }> {
  const got = await alternatingRounds(rounds, [['anchor', 'subject'] as const], (k, round) =>
    run[k](round),
  );
  const anchor = got.get('anchor') as S[];
  const subject = got.get('subject') as S[];
  return { anchor, subject, ratio: pairedRatios(subject.map(figure), anchor.map(figure)) };
}
