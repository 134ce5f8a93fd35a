// How long the receiving application goes without data when one of two paths fails during a
// download, Linux MPTCP against roam (`aggregate` and `best-path`), same lab, same run (issue 4):
//
//   client ── pa 20 Mbit/s RTT 20 ms ──┐
//   client ── pb  8 Mbit/s RTT 80 ms ──┴── router ── server
//
// Each trial is one download of SIZE bytes (byte-exact, SHA-256 checked). When the client has
// received FAULT_AT bytes, path pa fails:
//   stall  the wire drops everything both ways, silently (no RST, no ICMP)
//   down   the client's pa interface goes down
// and stays failed until the download ends. The client notes every pause between successive
// reads longer than 20 ms (monotonic clock); reported: the longest pause after the fault,
// every later pause ≥ LIST_GAP_MS, and the longest pause before the fault. A reference, plain
// TCP on pb alone with no fault, shows the pauses a healthy stream on the slower path has
// (cubic's loss recovery: about one full-queue RTT); a "second gap" is a later pause over
// 1.5 × the reference's longest pause (median of its trials) in the same run. Goals: longest ≤ 0.5 s after a stall, ≤ 0.2 s after
// link down, no second gap, nothing lost. LAB-NOTES' anchor: MPTCP 1.0–2.2 s, then 0.4–1.0 s.
//
// roam's client runs under the mobility manager (netlink address watcher), as docs/mobility.md
// tells users to: a link going down is known from the kernel at once and its flowpath removed
// (PATH_STATUS tells the server, which re-sends what was in flight on it); one row runs
// without it (only the server's stall suspicion then notices). Each trial's timeline, ms after
// the fault: the fault command done, the address event, the flowpath removed (PATH_STATUS
// sent), the server closing or suspecting the path (its re-send starts), the application's
// longest pause start and end.
//
// `--quick`: one trial per case. BENCH_REPEAT for more. BENCH_ROAM_SESSION: JSON session options.
import { z } from 'zod';
import { benchOptions, option } from './lib/options.js';
import { median } from './lib/stats.js';
import { publish } from './report.js';
import type { LineEvent, LinesProcess } from './workers/lines-process.js';
import {
  clientOptions,
  type Contender,
  crashSummary,
  isEvent,
  mbit,
  roamMultipathAvailable,
  startClient,
  startServer,
  streamEnd,
  type StreamResult,
} from './multipath/contenders.js';
import { congestionControl, LAB_OPTIONS, MultipathLab, SETTING_1 } from './multipath/lab.js';
import { monoMs } from './workers/clock.js';

const ALL_FAULTS = ['stall', 'down'] as const;
type FaultKind = (typeof ALL_FAULTS)[number];
const { values: opt, flags } = benchOptions({
  name: 'multipath-failover',
  summary:
    "the application's longest pause when one of two paths fails mid-download: roam vs MPTCP, in the lab (root, mptcpize)",
  flags: { quick: 'one trial per case' },
  variables: {
    BENCH_QUICK: option.flag(false, 'the same as --quick'),
    BENCH_REPEAT: option.number(undefined, 'trials per case', {
      integer: true,
      min: 1,
      shown: '3 (1 with --quick)',
    }),
    BENCH_SIZE_MB: option.number(14, 'download size, MB', { min: 1 }),
    BENCH_FAULT_AT_MB: option.number(4, 'the fault comes when the client has this many MB', {
      min: 0,
    }),
    BENCH_FAULTS: option.words(ALL_FAULTS, 'only these faults', ALL_FAULTS),
    BENCH_ROWS: option.text(undefined, 'only the rows whose name contains this text (e.g. best)'),
    BENCH_TRACE_MS: option.number(
      0,
      'roam servers log path stats at this interval (ms; 0: off), printed around each fault',
      { min: 0 },
    ),
    BENCH_ROAM_SESSION: option.json(
      z.record(z.string(), z.unknown()),
      {},
      'roam session options for both ends, e.g. {"deadAfterMs":300}',
      'a JSON object of session options',
    ),
    ...LAB_OPTIONS,
  },
});
const QUICK = flags.quick || opt.BENCH_QUICK;
const REPEAT = opt.BENCH_REPEAT ?? (QUICK ? 1 : 3);
const MB = 1024 * 1024;
const SIZE = opt.BENCH_SIZE_MB * MB;
const FAULT_AT = opt.BENCH_FAULT_AT_MB * MB;
const LIST_GAP_MS = 150;
const FAULTS = ALL_FAULTS.filter((k) => opt.BENCH_FAULTS.includes(k));
const ROWS = opt.BENCH_ROWS;
const TRACE_MS = opt.BENCH_TRACE_MS;
const CONGESTION_CONTROL = congestionControl();
const GOAL_MS: Record<FaultKind, number> = { stall: 500, down: 200 };
const PORTS: Record<string, number> = {
  'TCP on pb alone, no fault (reference)': 7701,
  MPTCP: 7702,
  'roam aggregate': 7703,
  'roam best-path': 7704,
  'roam aggregate, no mobility manager': 7705,
};
const portOf = (c: Contender) => PORTS[c.name] as number;
const ROAM_SESSION = opt.BENCH_ROAM_SESSION;

/** A row: a contender, and for roam whether its client runs under a mobility manager. */
type Row = Contender & { mobility?: { mode: 'netlink' | 'poll'; intervalMs?: number } };
const NETLINK = { mode: 'netlink' } as const;

const ALL_ROWS: Row[] = [
  { name: 'MPTCP', transport: 'mptcp' },
  { name: 'roam aggregate', transport: 'roam', scheduler: 'aggregate', mobility: NETLINK },
  { name: 'roam best-path', transport: 'roam', scheduler: 'best-path', mobility: NETLINK },
  { name: 'roam aggregate, no mobility manager', transport: 'roam', scheduler: 'aggregate' },
];
const CONTENDERS = ALL_ROWS.filter((c) => ROWS === undefined || c.name.includes(ROWS));

/** Where the time after a fault went, ms after it (undefined: did not happen). */
interface Timeline {
  /** The lab's fault command returned. */
  faultDoneMs: number;
  /** The client's address watcher reported pa's address gone. */
  addressGoneMs?: number;
  /** The client removed pa's flowpath (its PATH_STATUS went out on pb). */
  pathRemovedMs?: number;
  /** The client's session saw pa's flowpath close. */
  clientPathDownMs?: number;
  /** The server closed (PATH_STATUS, or a socket error) or suspected pa: its re-send starts. */
  serverReactsMs?: number;
  serverReaction?: string;
  /**
   * The failover pause: the application's longest pause that ends after the fault and
   * starts before the server's reaction + FAILOVER_WINDOW_MS (later ones are pb's own, such
   * as cubic's loss recovery): start and end, or none over 20 ms.
   */
  pauseStartMs?: number;
  pauseEndMs?: number;
}

const FAILOVER_WINDOW_MS = 500;

interface Trial {
  /** Longest pause between reads that ended after the fault, ms. */
  longestGapMs: number;
  /** When it started, ms after the fault. */
  longestAtMs: number;
  /** Other pauses ≥ LIST_GAP_MS after the longest: [ms after fault, length ms]. */
  laterGaps: [number, number][];
  /** Longest pause before the fault. */
  beforeFaultMaxGapMs: number;
  /** Goodput after the fault until the end, Mbit/s. */
  afterFaultMbit: number;
  ok: boolean;
  bytes: number;
  timeline?: Timeline;
  /** The server host's TCP retransmitted segments and retransmission timeouts from the fault to the end. */
  serverTcp?: { retrans: number; timeouts: number };
}

function analyse(r: StreamResult, faultT: number): Trial {
  const after = r.gaps.filter(([, end]) => end > faultT);
  const before = r.gaps.filter(([, end]) => end <= faultT);
  let longest: [number, number] = [faultT, faultT];
  for (const g of after) if (g[1] - g[0] > longest[1] - longest[0]) longest = g;
  // The fault happens between two reads: the pause it causes starts at the last read before.
  const laterGaps = after
    .filter((g) => g !== longest && g[0] >= longest[1] && g[1] - g[0] >= LIST_GAP_MS)
    .map(([s, e]) => [Math.round(s - faultT), Math.round(e - s)] as [number, number]);
  const atFault = r.progress.filter((p) => p.t <= faultT).pop()?.bytes ?? FAULT_AT;
  return {
    longestGapMs: Math.round(longest[1] - longest[0]),
    longestAtMs: Math.round(longest[0] - faultT),
    laterGaps,
    beforeFaultMaxGapMs: Math.round(Math.max(0, ...before.map(([s, e]) => e - s))),
    afterFaultMbit: mbit(r.bytes - atFault, r.lastByteT - faultT),
    ok: r.ok,
    bytes: r.bytes,
  };
}

/**
 * The reference: plain TCP on pb alone with no fault, analysed as if a fault came at FAULT_AT:
 * the pauses a healthy stream on the slower path shows, against which the others' are read.
 */
const REFERENCE: Contender = {
  name: 'TCP on pb alone, no fault (reference)',
  transport: 'tcp',
  path: 1,
};

/** The first event after `from` (and before `until`) that matches, ms after `from`. */
function firstAfter(
  events: LineEvent[],
  from: number,
  until: number,
  match: (e: LineEvent) => boolean,
): LineEvent | undefined {
  return events.find((e) => e.t >= from && e.t <= until && match(e));
}

function timeline(
  r: StreamResult,
  faultT: number,
  faultDoneT: number,
  client: LinesProcess,
  server: LinesProcess | undefined,
  endT: number,
  pa: string,
): Timeline {
  const ms = (e: LineEvent | undefined) => (e === undefined ? undefined : Math.round(e.t - faultT));
  const gone = firstAfter(
    client.events,
    faultT,
    endT,
    (e) => e.event === 'address-change' && (e.removed as string[]).includes(pa),
  );
  const removed = firstAfter(
    client.events,
    faultT,
    endT,
    (e) => e.event === 'path-removed' && e.address === pa,
  );
  const clientDown = firstAfter(
    client.events,
    faultT,
    endT,
    (e) => e.event === 'path-down' && e.localAddress === pa,
  );
  const reacts = server
    ? firstAfter(
        server.events,
        faultT,
        endT,
        (e) => e.event === 'path-suspect' || e.event === 'path-down',
      )
    : undefined;
  return {
    faultDoneMs: Math.round(faultDoneT - faultT),
    addressGoneMs: ms(gone),
    pathRemovedMs: ms(removed),
    clientPathDownMs: ms(clientDown),
    serverReactsMs: ms(reacts),
    serverReaction:
      reacts === undefined
        ? undefined
        : reacts.event === 'path-suspect'
          ? 'suspect'
          : String(reacts.reason),
    ...failoverPause(r, faultT, faultT + (ms(reacts) ?? 0) + FAILOVER_WINDOW_MS),
  };
}

function failoverPause(r: StreamResult, faultT: number, until: number) {
  let best: [number, number] | undefined;
  for (const g of r.gaps)
    if (g[1] > faultT && g[0] < until && (!best || g[1] - g[0] > best[1] - best[0])) best = g;
  return best
    ? { pauseStartMs: Math.round(best[0] - faultT), pauseEndMs: Math.round(best[1] - faultT) }
    : {};
}

async function tcpCounters(mp: MultipathLab): Promise<{ retrans: number; timeouts: number }> {
  const { stdout } = await mp.lab.exec('server', ['nstat', '-a', '-z', '-j']);
  const k = (JSON.parse(stdout) as { kernel?: Record<string, number> }).kernel ?? {};
  return { retrans: k.TcpRetransSegs ?? 0, timeouts: k.TcpExtTCPTimeouts ?? 0 };
}

/**
 * The server's path stats around the fault: ms after it, per path inflight/delivered/cap/queued
 * KiB, lowest RTT ms, rate KiB/s, S when suspect.
 */
function printTrace(server: LinesProcess, faultT: number, t: Trial): void {
  const until = faultT + Math.max(1000, t.longestAtMs + t.longestGapMs + 300);
  const kib = (x: unknown) => Math.round(Number(x ?? 0) / 1024);
  for (const e of server.events) {
    if (e.t < faultT - 60 || e.t > until) continue;
    if (e.event !== 'path-stats') {
      console.log(`  +${Math.round(e.t - faultT)} ${e.event} ${String(e.reason ?? '')}`);
      continue;
    }
    const paths = Object.entries(e)
      .filter(([k]) => k !== 'event' && k !== 't')
      .map(([k, v]) => {
        const [inflight, delivered, cap, queued, suspect, minRtt, rate] = v as number[];
        return `${k} ${kib(inflight)}/${kib(delivered)}/${kib(cap)}/${kib(queued)} rtt ${Math.round(minRtt ?? -1)} rate ${kib(rate)}${suspect ? ' S' : ''}`;
      });
    console.log(`  +${Math.round(e.t - faultT)} ${paths.join(' | ')}`);
  }
}

async function trial(mp: MultipathLab, c: Row, fault: FaultKind | 'none'): Promise<Trial> {
  await mp.lab.fault('pa', 'up');
  await mp.mptcpEndpoints([1]);
  const client = startClient(mp, c, 'stream', portOf(c), {
    ...clientOptions(
      mp,
      c,
      c.transport === 'roam' ? { session: ROAM_SESSION, mobility: c.mobility } : {},
    ),
    size: SIZE,
    progressMs: 50,
    gapMs: 20,
  });
  try {
    await client.waitFor((e) => isEvent('progress')(e) && Number(e.bytes) >= FAULT_AT, {
      timeoutMs: 60_000,
      what: `${c.name}: ${FAULT_AT} bytes`,
    });
    const tcpBefore = await tcpCounters(mp);
    const faultT = monoMs();
    if (fault === 'stall') await mp.lab.fault('pa', 'stall');
    else if (fault === 'down') await mp.lab.fault('pa', 'down', undefined, { side: 'a' });
    const faultDoneT = monoMs();
    // The rest goes over pb alone (about 1 MB/s), plus slack for a slow recovery.
    const r = await streamEnd(client, c.name, 60_000 + (SIZE / MB) * 3000);
    const t = analyse(r, faultT);
    const tcpAfter = await tcpCounters(mp);
    t.serverTcp = {
      retrans: tcpAfter.retrans - tcpBefore.retrans,
      timeouts: tcpAfter.timeouts - tcpBefore.timeouts,
    };
    const server = serverOf.get(c);
    if (TRACE_MS && server) printTrace(server, faultT, t);
    if (c.transport === 'roam' && fault !== 'none')
      t.timeline = timeline(
        r,
        faultT,
        faultDoneT,
        client,
        serverOf.get(c),
        r.lastByteT,
        mp.clientIp(0),
      );
    return t;
  } finally {
    await client.stop();
    await mp.lab.fault('pa', 'up');
  }
}

interface Case {
  contender: string;
  fault: FaultKind | 'none';
  trials: Trial[];
  medianLongestMs: number;
  maxLongestMs: number;
  secondGapTrials: number;
  note?: string;
}

const roamAvailable = roamMultipathAvailable();
const cases: Case[] = [];
const serverExtra = (c: Contender) =>
  c.transport === 'roam' && TRACE_MS ? { traceMs: TRACE_MS } : {};
const serverOf = new Map<Contender, LinesProcess>();
/** The median over the reference trials of each one's longest pause. */
let referencePauseMs = Number.POSITIVE_INFINITY;
/**
 * A second gap: a later pause half as long again as the healthy reference's typical longest
 * pause. Plain loss recovery on pb pauses for about one full-queue RTT, give or take a few ms;
 * the margin keeps those from counting, while a pause of several RTTs (a retransmission
 * timeout, a re-injection) does. The median, not the maximum: the reference itself now and
 * then meets a retransmission timeout (seen: 478 ms once in three), which would hide the
 * very pauses this is for.
 */
const SECOND_GAP_FACTOR = 1.5;
const secondGaps = (t: Trial) =>
  t.laterGaps.filter(([, len]) => len > SECOND_GAP_FACTOR * referencePauseMs);
const mp = await MultipathLab.up('mp-failover', SETTING_1);
try {
  for (const c of CONTENDERS) {
    if (c.transport === 'roam' && !roamAvailable.ok) continue;
    serverOf.set(c, await startServer(mp, c, portOf(c), ROAM_SESSION, serverExtra(c)));
  }
  serverOf.set(REFERENCE, await startServer(mp, REFERENCE, portOf(REFERENCE)));
  const refs: Trial[] = [];
  for (let i = 0; i < REPEAT; i++) refs.push(await trial(mp, REFERENCE, 'none'));
  console.log(`reference: ${JSON.stringify(refs)}`);
  // Each trial's longest pause, after or before its pretend fault.
  referencePauseMs = median(refs.map((r) => Math.max(r.longestGapMs, r.beforeFaultMaxGapMs)));
  cases.push({
    contender: REFERENCE.name,
    fault: 'none',
    trials: refs,
    medianLongestMs: median(refs.map((r) => r.longestGapMs)),
    maxLongestMs: Math.max(...refs.map((r) => r.longestGapMs)),
    secondGapTrials: 0,
  });
  for (const fault of FAULTS) {
    for (const c of CONTENDERS) {
      if (c.transport === 'roam' && !roamAvailable.ok) {
        cases.push({
          contender: c.name,
          fault,
          trials: [],
          medianLongestMs: Number.NaN,
          maxLongestMs: Number.NaN,
          secondGapTrials: 0,
          note: 'n/a',
        });
        continue;
      }
      const trials: Trial[] = [];
      let note: string | undefined;
      for (let i = 0; i < REPEAT; i++) {
        try {
          const t = await trial(mp, c, fault);
          trials.push(t);
          console.log(
            `${fault} ${c.name} #${i + 1}: longest ${t.longestGapMs} ms at +${t.longestAtMs} ms, later ${JSON.stringify(t.laterGaps)}, before ${t.beforeFaultMaxGapMs} ms, after ${t.afterFaultMbit.toFixed(2)} Mbit/s, ok ${t.ok}, server TCP ${JSON.stringify(t.serverTcp)}${t.timeline ? `, timeline ${JSON.stringify(t.timeline)}` : ''}`,
          );
        } catch (err) {
          const server = serverOf.get(c);
          const crash = server && crashSummary(server, 'server');
          if (server && crash) {
            await server.stop();
            serverOf.set(c, await startServer(mp, c, portOf(c), ROAM_SESSION, serverExtra(c)));
          }
          note = `failed: ${crash ?? (err as Error).message.slice(0, 300)}`;
          console.log(`${fault} ${c.name} #${i + 1}: ${note}`);
        }
      }
      const longest = trials.map((t) => t.longestGapMs);
      cases.push({
        contender: c.name,
        fault,
        trials,
        medianLongestMs: longest.length ? median(longest) : Number.NaN,
        maxLongestMs: longest.length ? Math.max(...longest) : Number.NaN,
        secondGapTrials: trials.filter((t) => secondGaps(t).length > 0).length,
        note,
      });
    }
  }
} finally {
  await Promise.all([...serverOf.values()].map((s) => s.stop()));
  await mp.down();
}

const f = (x: number) => (Number.isFinite(x) ? String(Math.round(x)) : '–');
const lines = [
  '## multipath-failover',
  '',
  `A download of ${SIZE / MB} MB over two paths (pa 20 Mbit/s RTT 20 ms, pb 8 Mbit/s RTT 80 ms, client ── paths ── router ── server); when the client has ${FAULT_AT / MB} MB, path pa fails — a silent stall (the wire drops everything both ways) or the client's pa interface going down — until the end. The receiving application's pauses between successive reads (monotonic clock, every pause > 20 ms recorded): the longest after the fault, and every later pause ≥ ${LIST_GAP_MS} ms; a "second gap" is a later pause over ${SECOND_GAP_FACTOR} × the reference row's longest pause (median of its trials: ${f(referencePauseMs)} ms in this run, so second gaps are over ${f(SECOND_GAP_FACTOR * referencePauseMs)} ms). MPTCP: the same Node program under \`mptcpize run\`, in-kernel path manager with a \`subflow\` endpoint for pb. ${REPEAT} trial(s) per case; congestion control ${CONGESTION_CONTROL}. Every download SHA-256 checked. Goals (issue 4): longest ≤ 500 ms after a stall, ≤ 200 ms after link down, no second gap, nothing lost; LAB-NOTES anchor for MPTCP: 1.0–2.2 s, then 0.4–1.0 s.`,
  '',
];
if (!roamAvailable.ok) lines.push(`roam: ${roamAvailable.reason}.`, '');
lines.push(
  `The reference row is plain TCP on pb alone with no fault, read the same way from the moment it has ${FAULT_AT / MB} MB: the pauses a healthy stream on the slower path has.`,
  '',
  '| fault | row | longest gap ms (median, max) | later pauses [ms after fault, length ms] | trials with a second gap | longest before fault ms | after fault Mbit/s | intact | goal |',
  '|---|---|---|---|---|---|---|---|---|',
);
for (const k of cases) {
  const goal =
    k.fault === 'none' || k.contender === 'MPTCP' || k.trials.length === 0
      ? ''
      : k.maxLongestMs <= GOAL_MS[k.fault] && k.secondGapTrials === 0 && k.trials.every((t) => t.ok)
        ? 'met'
        : '**not met**';
  lines.push(
    `| ${k.fault} | ${k.contender} | ${k.note && k.trials.length === 0 ? k.note : `${f(k.medianLongestMs)}, ${f(k.maxLongestMs)}`} | ${k.trials.map((t) => JSON.stringify(t.laterGaps)).join(' ')} | ${k.fault === 'none' || k.trials.length === 0 ? '' : `${k.secondGapTrials} of ${k.trials.length}`} | ${k.trials.map((t) => t.beforeFaultMaxGapMs).join(', ')} | ${k.trials.map((t) => t.afterFaultMbit.toFixed(2)).join(', ')} | ${k.trials.length ? (k.trials.every((t) => t.ok) ? 'yes' : '**no**') : ''} | ${goal}${k.note && k.trials.length ? ` ${k.note}` : ''} |`,
  );
}
const timed = cases.filter((k) => k.trials.some((t) => t.timeline));
if (timed.length > 0) {
  const steps: [keyof Timeline, string][] = [
    ['faultDoneMs', 'fault command done'],
    ['addressGoneMs', 'address event'],
    ['pathRemovedMs', 'path removed, PATH_STATUS sent'],
    ['clientPathDownMs', "client's flowpath closed"],
    ['serverReactsMs', 'server closes or suspects pa, re-send starts'],
    ['pauseStartMs', 'failover pause starts'],
    ['pauseEndMs', 'ends (bytes at the application again)'],
  ];
  lines.push(
    '',
    `Where the time went (roam rows): each step's median over the trials, ms after the fault command started (–: did not happen); the server's reaction as it logged it. The failover pause is the longest pause that starts before the server's reaction + ${FAILOVER_WINDOW_MS} ms (the table's longest may be a later one of pb's own).`,
    '',
  );
  for (const k of timed) {
    const tl = k.trials.map((t) => t.timeline).filter((x): x is Timeline => x !== undefined);
    const parts = steps
      .map(([key, label]) => {
        const xs = tl.map((x) => x[key]).filter((v): v is number => typeof v === 'number');
        return xs.length === 0 ? `${label} –` : `${label} ${f(median(xs))}`;
      })
      .join('; ');
    const how = [...new Set(tl.map((x) => x.serverReaction ?? 'none'))].join(' / ');
    lines.push(`- ${k.fault}, ${k.contender}: ${parts}. Server: ${how}.`);
  }
}
lines.push(
  '',
  `Reproduce: \`npm run build && node dist/bench/run.js multipath-failover${QUICK ? ' --quick' : ''}\` (root; BENCH_REPEAT, BENCH_SIZE_MB, BENCH_FAULT_AT_MB, BENCH_FAULTS, BENCH_ROWS, BENCH_ROAM_SESSION='{"deadAfterMs":…}').`,
);
publish(
  'multipath-failover',
  {
    quick: QUICK,
    sizeBytes: SIZE,
    faultAtBytes: FAULT_AT,
    congestionControl: CONGESTION_CONTROL,
    roamSession: ROAM_SESSION,
    referencePauseMs,
    roam: roamAvailable.ok ? 'multipath core present' : roamAvailable.reason,
    cases,
  },
  lines.join('\n'),
);
console.log(lines.join('\n'));
