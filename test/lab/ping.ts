import assert from 'node:assert/strict';

export interface PingResult {
  sent: number;
  received: number;
  loss: number;
  /** Median of the replies' round-trip times (as ping prints them, rounded past 100 ms). */
  medianMs: number;
  avgMs: number;
  /** The lowest RTT, exact to the microsecond: the path's delay, free of a busy host's noise. */
  minMs: number;
  maxMs: number;
  /** Every reply's round-trip time, lowest first (rounded as ping prints them). */
  timesMs: number[];
}

/** Parses the output of `ping -n` (without -q: each reply's time is needed). */
export function parsePing(stdout: string): PingResult {
  const counts = /(\d+) packets transmitted, (\d+) received/.exec(stdout);
  assert.ok(counts, `ping printed no summary: ${stdout}`);
  const times = [...stdout.matchAll(/time=([\d.]+) ms/g)]
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  const sent = Number(counts[1]);
  const received = Number(counts[2]);
  const mid = times.length >> 1;
  const medianMs =
    times.length === 0
      ? Number.NaN
      : times.length % 2
        ? (times[mid] as number)
        : ((times[mid - 1] as number) + (times[mid] as number)) / 2;
  const avgMs = times.length ? times.reduce((a, b) => a + b, 0) / times.length : Number.NaN;
  // Per-reply times are rounded (ping prints "time=201 ms" past 100 ms); the summary line
  // keeps three decimals, so min and max come from it.
  const summary = /= ([\d.]+)\/([\d.]+)\/([\d.]+)\//.exec(stdout);
  const minMs = summary ? Number(summary[1]) : (times[0] ?? Number.NaN);
  const maxMs = summary ? Number(summary[3]) : (times[times.length - 1] ?? Number.NaN);
  return {
    sent,
    received,
    loss: sent ? (sent - received) / sent : 0,
    medianMs,
    avgMs,
    minMs,
    maxMs,
    timesMs: times,
  };
}
