import type { DemoTransferSpec } from './scenario.js';

/** What the demo shows per transfer, updated from transfer and RTT events. */
export interface TransferView {
  spec: DemoTransferSpec;
  bytes: number;
  rateBps: number;
  outcome:
    | { kind: 'done'; ms: number; shaOk: boolean }
    | { kind: 'failed'; ms: number; code: string }
    | undefined;
}

export interface PathRtt {
  rttMs: number | undefined;
  lastRttAt: number;
}

const MB = 1 << 20;

function bar(fraction: number, width = 20): string {
  const full = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `${'█'.repeat(full)}${'░'.repeat(width - full)}`;
}

function state(v: TransferView): string {
  const o = v.outcome;
  if (o) return o.kind === 'failed' ? `FAILED ${o.code}` : o.shaOk ? 'complete' : 'CORRUPT';
  return v.rateBps < 1 ? 'stuck' : 'flowing';
}

export function renderLive(
  views: TransferView[],
  rtts: Map<string, PathRtt>,
  elapsedMs: number,
  events: string[],
  header: string,
): string {
  const lines = [header, `t = ${(elapsedMs / 1000).toFixed(1)} s`];
  for (const v of views) {
    const p = v.spec.path;
    const r = rtts.get(p.name);
    const silentFor = elapsedMs - (r?.lastRttAt ?? 0);
    const rtt =
      r?.rttMs === undefined || silentFor > 1000
        ? `none for ${(silentFor / 1000).toFixed(1)} s`
        : `${r.rttMs.toFixed(0)} ms`;
    lines.push(
      `  ${p.name.padEnd(9)}${v.spec.transport.padEnd(5)} ${bar(v.bytes / p.sizeBytes)} ${(v.bytes / MB).toFixed(1).padStart(5)}/${(p.sizeBytes / MB).toFixed(0)} MB ${((v.rateBps * 8) / 1e6).toFixed(1).padStart(5)} Mbit/s  path RTT ${rtt.padEnd(16)} ${state(v)}`,
    );
  }
  lines.push(...events.map((e) => `  ${e}`));
  return lines.join('\n');
}

export function renderSummary(views: TransferView[], network: string): string {
  const lines = [
    '',
    `roam demo summary — plain TCP and roam sessions side by side, over ${network}`,
    '',
  ];
  lines.push(
    `  ${'path'.padEnd(10)}${'transport'.padEnd(11)}${'result'.padEnd(44)}${'received'.padEnd(18)}SHA-256`,
  );
  for (const v of views) {
    const o = v.outcome;
    const at = o ? `${(o.ms / 1000).toFixed(1)} s` : '';
    const result = !o
      ? 'STUCK: no end by the end of the run'
      : o.kind === 'failed'
        ? `FAILED (${o.code}) at ${at}`
        : o.shaOk
          ? `complete in ${at}`
          : `CORRUPT: ended at ${at} with wrong bytes`;
    const sha = o?.kind === 'done' ? (o.shaOk ? 'matches' : 'MISMATCH') : '-';
    const size = v.spec.path.sizeBytes;
    lines.push(
      `  ${v.spec.path.name.padEnd(10)}${v.spec.transport.padEnd(11)}${result.padEnd(44)}${`${(v.bytes / MB).toFixed(1)} / ${(size / MB).toFixed(0)} MB`.padEnd(18)}${sha}`,
    );
  }
  lines.push(
    '',
    '  Plain TCP is tied to one path and one address: a stall freezes it, a move kills it.',
  );
  lines.push(
    '  A roam session notices the dead path itself, reconnects, and resumes from the exact byte.',
    '',
  );
  return lines.join('\n');
}
