import { DEMO_PATHS } from './scenario.js';

/** What the demo shows per path, updated from transfer and RTT events. */
export interface PathView {
  name: string;
  total: number;
  bytes: number;
  rateBps: number;
  rttMs: number | undefined;
  lastRttAt: number;
  outcome:
    | { kind: 'done'; ms: number; shaOk: boolean }
    | { kind: 'failed'; ms: number; code: string }
    | undefined;
}

const MB = 1 << 20;

function bar(fraction: number, width = 20): string {
  const full = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `${'█'.repeat(full)}${'░'.repeat(width - full)}`;
}

export function renderLive(
  views: PathView[],
  elapsedMs: number,
  events: string[],
  header: string,
): string {
  const lines = [header, `t = ${(elapsedMs / 1000).toFixed(1)} s`];
  for (const v of views) {
    const spec = DEMO_PATHS.find((p) => p.name === v.name);
    const silentFor = elapsedMs - v.lastRttAt;
    const rtt =
      v.rttMs === undefined || silentFor > 1000
        ? `no answer for ${(silentFor / 1000).toFixed(1)} s`
        : `${v.rttMs.toFixed(0)} ms`;
    const state = v.outcome
      ? v.outcome.kind === 'done'
        ? 'complete'
        : `FAILED ${v.outcome.code}`
      : v.rateBps < 1
        ? 'stuck'
        : 'flowing';
    lines.push(
      `  ${v.name.padEnd(9)} ${`${spec?.rateMbit} Mbit/s ${spec?.rttMs} ms`.padEnd(16)} ${bar(v.bytes / v.total)} ${(v.bytes / MB).toFixed(1).padStart(5)}/${(v.total / MB).toFixed(0)} MB ${((v.rateBps * 8) / 1e6).toFixed(1).padStart(5)} Mbit/s  RTT ${rtt.padEnd(20)} ${state}`,
    );
  }
  lines.push(...events.map((e) => `  ${e}`));
  return lines.join('\n');
}

export function renderSummary(views: PathView[], network: string): string {
  const lines = ['', `roam demo summary — plain TCP, one download per path, over ${network}`, ''];
  lines.push(`  ${'path'.padEnd(10)}${'result'.padEnd(40)}${'received'.padEnd(18)}SHA-256`);
  for (const v of views) {
    const o = v.outcome;
    const result = !o
      ? 'STUCK: no byte for the rest of the run'
      : o.kind === 'done'
        ? `complete in ${(o.ms / 1000).toFixed(1)} s`
        : `FAILED (${o.code}) at ${(o.ms / 1000).toFixed(1)} s`;
    const sha = o?.kind === 'done' ? (o.shaOk ? 'matches' : 'MISMATCH') : '-';
    lines.push(
      `  ${v.name.padEnd(10)}${result.padEnd(40)}${`${(v.bytes / MB).toFixed(1)} / ${(v.total / MB).toFixed(0)} MB`.padEnd(18)}${sha}`,
    );
  }
  lines.push(
    '',
    '  Plain TCP is tied to one path and one address: a stall freezes it, a move kills it.',
  );
  lines.push(
    '  roam sessions (coming with the session layer) keep such transfers alive across both.',
    '',
  );
  return lines.join('\n');
}
