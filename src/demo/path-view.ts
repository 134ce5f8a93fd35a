/**
 * The multipath demo's screen: one line per flowpath with its rate and RTT, from snapshots of
 * the session's paths. Pure (rates from the byte counts of the last second of snapshots).
 */
export interface PathSample {
  pathId: number;
  local: string | undefined;
  remote: string | undefined;
  state: string;
  /** Bytes of the download received on this flowpath so far. */
  received: number;
  rttMs: number | undefined;
}

export interface Snapshot {
  /** ms since the demo started. */
  at: number;
  /** Bytes the application received in all. */
  bytes: number;
  paths: PathSample[];
}

export interface PathLine extends PathSample {
  rateBps: number;
}

const MB = 1 << 20;

/** Per-path rates over the snapshots of the last `windowMs`. */
export function pathLines(history: readonly Snapshot[], windowMs = 1000): PathLine[] {
  const last = history[history.length - 1];
  if (!last) return [];
  const first = history.find((s) => s.at >= last.at - windowMs) ?? last;
  const span = (last.at - first.at) / 1000;
  return last.paths.map((p) => {
    const before = first.paths.find((q) => q.pathId === p.pathId)?.received ?? 0;
    return { ...p, rateBps: span > 0 ? (p.received - before) / span : 0 };
  });
}

export function renderPaths(
  history: readonly Snapshot[],
  sizeBytes: number,
  events: readonly string[],
  header: string,
): string {
  const last = history[history.length - 1];
  const lines = [header, `t = ${((last?.at ?? 0) / 1000).toFixed(1)} s`];
  const total = pathLines(history).reduce((s, p) => s + p.rateBps, 0);
  lines.push(
    `  session  ${((last?.bytes ?? 0) / MB).toFixed(1).padStart(5)}/${(sizeBytes / MB).toFixed(0)} MB  ${((total * 8) / 1e6).toFixed(1).padStart(5)} Mbit/s in all`,
  );
  for (const p of pathLines(history)) {
    const rtt = p.rttMs === undefined ? '-' : `${p.rttMs.toFixed(0)} ms`;
    lines.push(
      `  path ${String(p.pathId).padEnd(3)} ${`${p.local ?? '?'} → ${p.remote ?? '?'}`.padEnd(34)} ${((p.rateBps * 8) / 1e6).toFixed(1).padStart(5)} Mbit/s  RTT ${rtt.padEnd(7)} ${(p.received / MB).toFixed(1).padStart(5)} MB  ${p.state}`,
    );
  }
  if (last && last.paths.length === 0) lines.push('  (no flowpath: the session is moving)');
  lines.push(...events.map((e) => `  ${e}`));
  return lines.join('\n');
}
