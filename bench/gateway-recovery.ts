// Failure recovery delay of the gateway's splice (FloMiS, issue 6) in the lab:
//
//   client ── lan ── gateway ─ upa (RTT/2 each way) ─ carrier-a (NAT) ─┐
//                           └─ upb (RTT/2 each way) ─ carrier-b (NAT) ─ origin (nginx)
//
// `roam gateway up` runs in the gateway host. A plain HTTP download (one socket, every read
// timestamped) runs through it; nginx sends the first 2 MiB at full speed and then 100 KiB/s,
// so the download is live when uplink A fails (a silent stall, or the gateway's interface
// going down). The gateway notices by itself (probes every 100 ms, stallMs 1000 by default;
// link events). Measured per trial:
//   detection  the fault in effect → the gateway starts the migration (its log line)
//   splice     the migration starts → the first resumed body byte read by the client
//   recovery   detection + splice: the paper's "failure recovery delay" (218 ms at RTT 100 ms)
// Goal (issue 6): splice ≤ 2 RTT + 20 ms.
// Baselines in the same run (at BENCH_BASELINE_RTT, default 100 ms), curl and wget through
// the same gateway with interception off:
//   timeout  no fast reset either: a plain NAT gateway that only sends new flows to B. Does
//            the client ever resume by itself, and when? Cut at BENCH_BASELINE_CAP_S (70 s)
//   rst      fast reset: the gateway resets the flows of the failed uplink (the paper's case 3)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab } from '../src/lab/lab.js';
import { type ClientResult, startCli, waitReceived } from '../test/gateway/lab/clients.js';
import { MiB, writeRandom, type Served } from '../test/gateway/lab/content.js';
import { startNginx } from '../test/gateway/lab/nginx.js';
import { type Mode, RoamGateway } from '../test/gateway/lab/roam-gateway.js';
import { failUplinkA, FIXTURES, type FaultKind } from '../test/gateway/lab/scenario.js';
import { gatewayTopology, ORIGIN, UPLINK_A } from '../test/gateway/lab/topology.js';
import { benchOptions, option } from './lib/options.js';
import { mean, median } from './lib/stats.js';
import { publish } from './report.js';
import { monoMs } from './workers/clock.js';
import { LinesProcess } from './workers/lines-process.js';

const { values: opt } = benchOptions({
  name: 'gateway-recovery',
  summary:
    "the splice's recovery delay when an uplink fails mid-download, against curl and wget through plain NAT, in the lab (root)",
  variables: {
    BENCH_RTTS: option.numbers([50, 100, 200], 'uplink RTTs to run at, ms', { min: 0 }),
    BENCH_REPEAT: option.number(3, 'trials per RTT and fault', { integer: true, min: 1 }),
    BENCH_FAULTS: option.words<FaultKind>(['stall', 'down'], 'which uplink faults', [
      'stall',
      'down',
    ]),
    BENCH_BASELINE_RTT: option.number(100, 'RTT of the curl/wget baselines, ms', { min: 0 }),
    BENCH_BASELINE_CAP_S: option.number(
      70,
      'a baseline that has not resumed by itself is cut after this many seconds',
      { min: 1 },
    ),
    BENCH_STALL_MS: option.number(1000, "the gateway's uplink stall threshold, ms", { min: 1 }),
  },
});
const RTTS = opt.BENCH_RTTS;
const REPEAT = opt.BENCH_REPEAT;
const FAULTS = opt.BENCH_FAULTS;
const BASELINE_RTT = opt.BENCH_BASELINE_RTT;
const BASELINE_CAP_S = opt.BENCH_BASELINE_CAP_S;
const STALL_MS = opt.BENCH_STALL_MS;
const FAIL_AFTER = 2 * MiB;
const PAPER_MS = 218;

interface Trial {
  rttMs: number;
  fault: FaultKind;
  detectionMs: number;
  spliceMs: number;
  recoveryMs: number;
  /** The splice in parts: migration starts → first new byte handed to the client socket (gateway log, wall clock, 1 ms) → read by the client. */
  parts: { originMs: number; deliverMs: number };
  /** How long the fault command took: a link down is seen by the gateway within it. */
  faultCommandMs: number;
  offset: number;
  /** The re-request went over a spare connection opened while A was suspect (one round trip). */
  spare: boolean;
  complete: boolean;
}

/** Uplink A back to health between trials (each trial starts a fresh gateway). */
async function restore(lab: Lab): Promise<void> {
  await lab.fault(UPLINK_A.link, 'up');
}

/** One roam trial: download through the engine, fail A, time the first resumed byte. */
async function spliceTrial(
  lab: Lab,
  file: Served,
  rttMs: number,
  fault: FaultKind,
): Promise<Trial> {
  const gateway = await RoamGateway.up(lab, {
    mode: 'splice',
    weights: { a: 1000, b: 1 },
    stallMs: STALL_MS,
  });
  let client: LinesProcess | undefined;
  try {
    client = new LinesProcess(lab, 'client', [
      process.execPath,
      join(FIXTURES, 'http-download.js'),
      ORIGIN,
      '80',
      `/${file.name}`,
    ]);
    const c = client;
    // Live at the failure: past the full-speed part.
    await waitBody(c, FAIL_AFTER + 64 * 1024);
    const from = gateway.mark;
    const failure = await failUplinkA(lab, fault);
    const migration = await gateway.waitFor((e) => e.msg === 'migration', {
      from,
      timeoutMs: 30_000,
      what: 'migration',
    });
    const splice = await gateway.waitFor((e) => e.msg === 'splice', {
      from,
      timeoutMs: 30_000,
      what: 'splice',
    });
    const offset = splice.offset as number;
    const mark = c.mark;
    c.send(`when ${offset}`);
    const reached = await c.waitFor((e) => e.event === 'reached' && e.n === offset, {
      from: mark,
      timeoutMs: 30_000,
      what: 'resumed byte',
    });
    const done = await c.waitFor((e) => e.event === 'done' || e.event === 'error', {
      timeoutMs: 120_000,
      what: 'download end',
    });
    const at = reached.at as number;
    // Gateway log times are wall clock (ms); the fault's wall time was taken with it.
    const detectionMs = migration.time - failure.faultWall;
    const recoveryMs = at - failure.faultAt;
    return {
      rttMs,
      fault,
      detectionMs,
      spliceMs: recoveryMs - detectionMs,
      recoveryMs,
      parts: {
        originMs: splice.time - migration.time,
        deliverMs: recoveryMs - (splice.time - failure.faultWall),
      },
      faultCommandMs: failure.faultAt - failure.startedAt,
      offset,
      spare: migration.spare === true,
      complete: done.event === 'done' && done.bytes === file.size && done.sha256 === file.sha256,
    };
  } finally {
    await client?.stop();
    await gateway.stop();
  }
}

/** Waits for the download's body to pass `bytes`, asking the worker (no polling). */
async function waitBody(client: LinesProcess, bytes: number): Promise<void> {
  const mark = client.mark;
  client.send(`when ${bytes}`);
  await client.waitFor((e) => e.event === 'reached' && e.n === bytes, {
    from: mark,
    timeoutMs: 60_000,
    what: `${bytes} B`,
  });
}

interface BaselineResult {
  mode: Mode;
  fault: FaultKind;
  client: string;
  /** Failure → first new byte in the client's file, when it resumed by itself. */
  resumedMs: number | null;
  /** Failure → the client's exit (or the cut). */
  endMs: number;
  outcome: string;
  result: ClientResult;
}

/** curl and wget at once through `mode`, A fails, each watched up to the cap. */
async function baseline(
  lab: Lab,
  file: Served,
  mode: Mode,
  fault: FaultKind,
): Promise<BaselineResult[]> {
  const gateway = await RoamGateway.up(lab, {
    mode,
    weights: { a: 1000, b: 1 },
    stallMs: STALL_MS,
  });
  const runs = (['curl', 'wget'] as const).map((kind) =>
    startCli(lab, kind, `http://${ORIGIN}/${file.name}`, file),
  );
  try {
    await waitReceived(lab, runs.length, FAIL_AFTER + 64 * 1024);
    const failure = await failUplinkA(lab, fault);
    for (const r of runs) r.markFailure();
    const cap = setTimeout(() => runs.forEach((r) => r.kill()), BASELINE_CAP_S * 1000);
    const ended = await Promise.all(
      runs.map((r) => r.done.then((result) => ({ result, endMs: monoMs() - failure.faultAt }))),
    );
    clearTimeout(cap);
    return ended.map(({ result, endMs }) => {
      const resumedMs = result.resumedAt === undefined ? null : result.resumedAt - failure.faultAt;
      const outcome = result.completed
        ? `completed (resumed by itself ${((resumedMs ?? 0) / 1000).toFixed(2)} s after the failure)`
        : result.killed
          ? `no progress for ${BASELINE_CAP_S} s (cut)`
          : `failed ${(endMs / 1000).toFixed(1)} s after the failure, exit ${result.exitCode}`;
      return { mode, fault, client: result.client, resumedMs, endMs, outcome, result };
    });
  } finally {
    for (const r of runs) r.kill();
    await Promise.all(runs.map((r) => r.done));
    await gateway.stop();
  }
}

async function withSite<T>(rttMs: number, fn: (lab: Lab, file: Served) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'roam-bench-site-'));
  const lab = await Lab.up(gatewayTopology({ rttMs, rate: '100mbit', name: 'gateway-recovery' }));
  try {
    const file = writeRandom(dir, 'file.bin', 8 * MiB);
    const nginx = await startNginx(lab, 'origin', {
      address: ORIGIN,
      root: dir,
      paceAfter: '2m',
      paceRate: '100k',
    });
    try {
      return await fn(lab, file);
    } finally {
      await nginx.stop();
    }
  } finally {
    await lab.down();
    rmSync(dir, { recursive: true, force: true });
  }
}

const trials: Trial[] = [];
for (const rttMs of RTTS) {
  await withSite(rttMs, async (lab, file) => {
    for (const fault of FAULTS) {
      for (let i = 0; i < REPEAT; i++) {
        const t = await spliceTrial(lab, file, rttMs, fault);
        trials.push(t);
        console.log(
          `RTT ${rttMs} ms, ${fault}: detection ${t.detectionMs.toFixed(1)} ms, splice ${t.spliceMs.toFixed(1)} ms (${t.parts.originMs.toFixed(0)} to the first new byte at the gateway), recovery ${t.recoveryMs.toFixed(1)} ms, ${t.complete ? 'byte-exact' : 'NOT COMPLETE'}`,
        );
        await restore(lab);
      }
    }
  });
}

const baselines: BaselineResult[] = [];
await withSite(BASELINE_RTT, async (lab, file) => {
  for (const [mode, fault] of [
    ['nat', 'stall'],
    ['nat', 'down'],
    ['rst', 'stall'],
  ] as const) {
    for (const b of await baseline(lab, file, mode, fault)) {
      baselines.push(b);
      console.log(`baseline ${mode}/${fault} ${b.client}: ${b.outcome}`);
    }
    await restore(lab);
    // Plain NAT's failure took A's default route away; give it back for the next baseline.
    await lab.exec(
      'gateway',
      [
        'ip',
        'route',
        'replace',
        'default',
        'via',
        UPLINK_A.next,
        'dev',
        UPLINK_A.link,
        'metric',
        '10',
      ],
      { mayFail: true },
    );
  }
});

const rows = RTTS.flatMap((rtt) =>
  FAULTS.map((fault) => {
    const ts = trials.filter((t) => t.rttMs === rtt && t.fault === fault);
    const goal = 2 * rtt + 20;
    const splice = ts.map((t) => t.spliceMs);
    return {
      rttMs: rtt,
      fault,
      trials: ts.length,
      complete: ts.filter((t) => t.complete).length,
      overSpare: ts.filter((t) => t.spare).length,
      detectionMedianMs: median(ts.map((t) => t.detectionMs)),
      spliceMedianMs: median(splice),
      spliceMaxMs: Math.max(...splice),
      recoveryMeanMs: mean(ts.map((t) => t.recoveryMs)),
      goalMs: goal,
      goalMet: splice.every((s) => s <= goal),
      vsPaper: rtt === 100 ? mean(ts.map((t) => t.recoveryMs)) / PAPER_MS : null,
    };
  }),
);

const md = [
  '## gateway-recovery',
  '',
  'Failure recovery delay of the splice (issue 6) in the lab: client — gateway with two uplinks',
  '(the RTT split over each uplink) — two NAT carriers — nginx. A download is live when uplink A',
  `stalls or goes down. \`roam gateway up\` detects it itself (probes every 100 ms, stallMs ${STALL_MS}; link events):`,
  'detection = fault command returned (fault in effect) → the gateway starts the migration (its log line, wall',
  'clock, 1 ms; a link down is seen during the fault command itself, so it can show as ≤ 0);',
  'splice = migration started → first resumed body byte read by the client. Goal: splice ≤ 2 RTT + 20 ms.',
  'A stall passes through "suspect" (no answer for 500 ms) first: the gateway then opens a spare connection on B',
  'for the live response, and the re-request goes out on it when the stall is declared (one round trip: Range',
  'request → first byte). A link down has no such warning: new connection, then request (two round trips).',
  `Paper (FloMiS): ${PAPER_MS} ms mean recovery at RTT 100 ms.`,
  '',
  ...rows.map(
    (r) =>
      `- RTT ${r.rttMs} ms, ${r.fault}: splice median ${r.spliceMedianMs.toFixed(0)} ms (max ${r.spliceMaxMs.toFixed(0)}; goal ${r.goalMs}: ${r.goalMet ? 'met' : 'NOT met'}), detection median ${r.detectionMedianMs.toFixed(0)} ms, recovery mean ${r.recoveryMeanMs.toFixed(0)} ms${r.vsPaper === null ? '' : ` (${r.vsPaper.toFixed(2)} × the paper's)`}; ${r.complete}/${r.trials} byte-exact; ${r.overSpare}/${r.trials} over a spare connection`,
  ),
  '',
  `Baselines at RTT ${BASELINE_RTT} ms, same lab, same failure, the same gateway with interception off (curl and wget, default options, cut at ${BASELINE_CAP_S} s):`,
  '',
  ...baselines.map(
    (b) =>
      `- ${b.mode === 'nat' ? 'plain NAT, no fast reset (timeout)' : 'fast reset (RST)'}, ${b.fault}, ${b.client}: ${b.outcome}`,
  ),
].join('\n');

publish(
  'gateway-recovery',
  {
    rtts: RTTS,
    stallMs: STALL_MS,
    repeat: REPEAT,
    faults: FAULTS,
    paperMs: PAPER_MS,
    summary: rows,
    trials,
    baselines: baselines.map(({ result, ...b }) => ({
      ...b,
      exitCode: result.exitCode,
      bytes: result.bytes,
      ms: result.ms,
      completed: result.completed,
    })),
  },
  md,
);
console.log(md);
