// The contenders of the multipath benchmarks and how each runs in the lab: one server process
// and one client process per contender (bench/workers/multipath-peer.ts), the same program
// for plain TCP, Linux MPTCP (under `mptcpize run`) and roam.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../../src/package-root.js';
import { type LineEvent, LinesProcess } from '../workers/lines-process.js';
import { type MultipathLab, SERVER_IP } from './lab.js';

const PEER = join(dirname(fileURLToPath(import.meta.url)), '..', 'workers', 'multipath-peer.js');

export type Transport = 'tcp' | 'mptcp' | 'roam';

export interface Contender {
  /** Row name in the report. */
  name: string;
  transport: Transport;
  /** tcp: the path index to bind to. */
  path?: number;
  /** roam: the scheduler. */
  scheduler?: string;
}

/** Roam session options of the benchmarks: the defaults, what a user gets. */
export const ROAM_SESSION: Record<string, unknown> = {};

/**
 * Whether the multipath session core is in this build (the `multipath` branch merged):
 * without it roam's connect() ignores `localAddresses` and runs on one path, which would be
 * reported as if it were multipath.
 */
export function roamMultipathAvailable(): { ok: boolean; reason: string } {
  const marker = join(packageRoot(), 'dist', 'src', 'multipath');
  if (!existsSync(marker))
    return {
      ok: false,
      reason:
        'not available: the multipath session core (src/multipath/, branch multipath) is not merged into this build',
    };
  return { ok: true, reason: '' };
}

function argv(c: Contender, mode: string, port: number, options: Record<string, unknown>) {
  const kind = c.transport === 'roam' ? 'roam' : 'tcp';
  const node = [
    process.execPath,
    PEER,
    mode,
    kind,
    SERVER_IP,
    String(port),
    JSON.stringify(options),
  ];
  return c.transport === 'mptcp' ? ['mptcpize', 'run', ...node] : node;
}

export const isEvent = (name: string) => (e: LineEvent) => e.event === name;

/** Client options of a contender: which local address(es), which scheduler. */
export function clientOptions(mp: MultipathLab, c: Contender, extra: Record<string, unknown> = {}) {
  if (c.transport === 'tcp') return { localAddress: mp.clientIp(c.path ?? 0), ...extra };
  if (c.transport === 'mptcp') return { ...extra };
  return {
    localAddresses: mp.clientIps,
    scheduler: c.scheduler ?? 'aggregate',
    session: ROAM_SESSION,
    ...extra,
  };
}

/** The contender's server in the server host; stop() it. */
export async function startServer(
  mp: MultipathLab,
  c: Contender,
  port: number,
  session: Record<string, unknown> = ROAM_SESSION,
  extra: Record<string, unknown> = {},
): Promise<LinesProcess> {
  const server = new LinesProcess(
    mp.lab,
    'server',
    argv(c, 'serve', port, { session, scheduler: c.scheduler, ...extra }),
  );
  try {
    await server.waitFor(isEvent('listening'), { what: `${c.name} server listening` });
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

/** A client process in the client host running `mode` with `options`. */
export function startClient(
  mp: MultipathLab,
  c: Contender,
  mode: 'get' | 'stream',
  port: number,
  options: Record<string, unknown>,
): LinesProcess {
  return new LinesProcess(mp.lab, 'client', argv(c, mode, port, options));
}

export interface Trial {
  size: number;
  ms: number;
  connectMs: number;
  ok: boolean;
}

/** Runs `get` for the sizes against the contender's running server; every trial, or the error. */
export async function timedDownloads(
  mp: MultipathLab,
  c: Contender,
  port: number,
  sizes: number[],
  repeat: number,
  timeoutMs: number,
  /** Untimed downloads of each size first (the same for every contender). */
  warmup = 0,
): Promise<Trial[]> {
  const client = startClient(mp, c, 'get', port, {
    ...clientOptions(mp, c),
    sizes,
    repeat,
    warmup,
  });
  try {
    const end = await client.waitFor((e) => e.event === 'done' || e.event === 'error', {
      timeoutMs,
      what: `${c.name} downloads`,
    });
    if (end.event === 'error') throw new Error(`${c.name}: ${String(end.message)}`);
    return client.events.filter(isEvent('trial')).map((e) => ({
      size: Number(e.size),
      ms: Number(e.ms),
      connectMs: Number(e.connectMs),
      ok: e.ok === true,
    }));
  } finally {
    await client.stop();
  }
}

/** Goodput in Mbit/s of `bytes` in `ms`. */
export const mbit = (bytes: number, ms: number) => (bytes * 8) / (ms * 1000);

export const sizeName = (n: number) =>
  n >= 1 << 20 ? `${n / (1 << 20)} MB` : n >= 1024 ? `${n / 1024} KB` : `${n} B`;

export interface StreamResult {
  bytes: number;
  ms: number;
  ok: boolean;
  firstByteT: number;
  lastByteT: number;
  /** Pauses between reads longer than gapMs: [start, end], monotonic ms. */
  gaps: [number, number][];
  /** The client's progress events: bytes received by t. */
  progress: { t: number; bytes: number }[];
}

/** Converts a finished `stream` client's events into a result (throws on its error). */
export function streamResult(client: LinesProcess, name: string): StreamResult {
  const done = client.events.find(isEvent('stream-done'));
  if (!done) {
    const err = client.events.find(isEvent('error'));
    throw new Error(`${name}: ${err ? String(err.message) : 'no result'}`);
  }
  return {
    bytes: Number(done.bytes),
    ms: Number(done.ms),
    ok: done.ok === true,
    firstByteT: Number(done.firstByteT),
    lastByteT: Number(done.lastByteT),
    gaps: done.gaps as [number, number][],
    progress: client.events
      .filter(isEvent('progress'))
      .map((e) => ({ t: e.t, bytes: Number(e.bytes) })),
  };
}

/** Waits for a `stream` client to finish (or fail). */
export async function streamEnd(client: LinesProcess, name: string, timeoutMs: number) {
  await client.waitFor((e) => e.event === 'stream-done' || e.event === 'error', {
    timeoutMs,
    what: `${name} stream`,
  });
  return streamResult(client, name);
}

/**
 * Steady goodput of a stream, Mbit/s: from the first progress sample `skipMs` after the first
 * byte (slow start over) to the last byte.
 */
export function steadyMbit(r: StreamResult, skipMs: number): number {
  const from = r.progress.find((p) => p.t >= r.firstByteT + skipMs && p.bytes < r.bytes);
  if (!from) return mbit(r.bytes, r.lastByteT - r.firstByteT);
  return mbit(r.bytes - from.bytes, r.lastByteT - from.t);
}

/** "server crashed (exit 1): RoamError: …" when a worker died on its own, else undefined. */
export function crashSummary(p: LinesProcess, who: string): string | undefined {
  const ended = p.ended;
  if (!ended) return undefined;
  const err = p.stderrTail
    .split('\n')
    .find((l) => /^\w*Error\b/.test(l.trim()))
    ?.trim();
  return `${who} crashed (${ended})${err ? `: ${err.slice(0, 200)}` : ''}`;
}

/**
 * Steady goodput of plain TCP on one path alone, Mbit/s: a download of about `seconds` at
 * the path's rate from a plain TCP server on `port`, the first 1.5 s (slow start) left out.
 */
export async function singlePathMbit(
  mp: MultipathLab,
  port: number,
  index: number,
  seconds: number,
): Promise<number> {
  const p = mp.paths[index];
  if (!p) throw new Error(`no path ${index}`);
  const tcp: Contender = { name: `TCP ${p.name}`, transport: 'tcp', path: index };
  const client = startClient(mp, tcp, 'stream', port, {
    localAddress: mp.clientIp(index),
    size: Math.round(((p.rateMbit * 1e6) / 8) * seconds),
    progressMs: 100,
  });
  try {
    const r = await streamEnd(client, tcp.name, 30_000 + seconds * 4000);
    if (!r.ok) throw new Error(`${tcp.name}: corrupt download`);
    return steadyMbit(r, 1500);
  } finally {
    await client.stop();
  }
}
