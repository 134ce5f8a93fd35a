// Downloads over several paths at once: roam's `aggregate` scheduler against Linux MPTCP and
// plain TCP, in the same lab and the same run (issue 4).
//
//   client ── pa 20 Mbit/s RTT 20 ms ──┐
//   client ── pb  8 Mbit/s RTT 80 ms ──┼── router ── server
//   client ── pc 12 Mbit/s RTT 40 ms ──┘   (pc in setting 2 only)
//
// Rows, per download size (64 KB, 1 MB, 10 MB, 100 MB; each a new connection or session,
// the request written right after connect(), timed from connect() to the last byte at the
// application, median of several after one untimed warm-up download below 10 MB):
//   TCP best path   one TCP connection bound to the fastest path (pa)
//   MPTCP           the same program under `mptcpize run`, in-kernel path manager with one
//                   `subflow` endpoint per extra path on the client (LAB-NOTES' recipe)
//   roam aggregate  a roam session with every client address, scheduler `aggregate`
//   ideal           the sum of every path's steady single-path TCP goodput, measured in
//                   this run (a download of about PROBE_S seconds on each path alone, before
//                   and after the other rows; the higher of the two)
// Congestion control cubic in every namespace; bottleneck queues of 1 BDP (bench/multipath/lab.ts).
//
// `--quick`: 64 KB, 1 MB and 10 MB only, fewer repetitions. BENCH_SETTINGS=1,2 picks settings.
import { benchOptions, option } from './lib/options.js';
import { median } from './lib/stats.js';
import { publish } from './report.js';
import type { LinesProcess } from './workers/lines-process.js';
import {
  type Contender,
  crashSummary,
  mbit,
  roamMultipathAvailable,
  sizeName,
  singlePathMbit,
  startServer,
  timedDownloads,
} from './multipath/contenders.js';
import {
  congestionControl,
  LAB_OPTIONS,
  downloadShares,
  MultipathLab,
  type PathSpec,
  queuePackets,
  SETTING_1,
  SETTING_2,
} from './multipath/lab.js';

const { values: opt, flags } = benchOptions({
  name: 'multipath-vs-mptcp',
  summary:
    'downloads over several paths: roam aggregate vs Linux MPTCP vs TCP on the best path, in the lab (root, mptcpize)',
  flags: { quick: '64 KB, 1 MB and 10 MB only, fewer repetitions, shorter path probes' },
  variables: {
    BENCH_QUICK: option.flag(false, 'the same as --quick'),
    BENCH_SETTINGS: option.numbers(
      [1, 2],
      'which path settings to run: 1 (pa, pb) and/or 2 (pa, pb, pc)',
      { integer: true, min: 1, max: 2 },
    ),
    ...LAB_OPTIONS,
  },
});
const QUICK = flags.quick || opt.BENCH_QUICK;
const CONGESTION_CONTROL = congestionControl();
const KB = 1024;
const MB = 1024 * 1024;
const SIZES = QUICK ? [64 * KB, MB, 10 * MB] : [64 * KB, MB, 10 * MB, 100 * MB];
const REPEAT: Record<number, number> = QUICK
  ? { [64 * KB]: 5, [MB]: 3, [10 * MB]: 1 }
  : { [64 * KB]: 9, [MB]: 5, [10 * MB]: 3, [100 * MB]: 1 };
const PROBE_S = QUICK ? 6 : 12;
const SETTINGS = opt.BENCH_SETTINGS;
const PORTS = { tcp: 7601, mptcp: 7602, roam: 7603 };
/**
 * Untimed downloads before the timed ones of a short size, for every contender: each row's
 * client is a fresh process, and its first transfers measure the JIT compiling roam's code
 * (Node's own TCP code is compiled in advance), not the protocol.
 */
const WARMUP = 1;
/** Sizes at or above this are bulk transfers for the goals; below, short ones. */
const BULK = 10 * MB;

interface Row {
  contender: string;
  size: number;
  trialsMs: number[];
  medianMs: number;
  goodputMbit: number;
  ofIdeal: number;
  /** Goodput over MPTCP's at this size (> 1: faster). */
  ofMptcp: number;
  /** Download bytes carried per path during this row's transfers (share of the total). */
  pathShares: Record<string, number>;
  corrupt: number;
  note?: string;
}

interface SettingResult {
  setting: number;
  paths: (PathSpec & {
    queuePackets: number;
    singleMbit: number;
    singleMbitBefore: number;
    singleMbitAfter: number;
  })[];
  idealMbit: number;
  rows: Row[];
  mptcpJoins: number;
  goals: { goal: string; met: boolean | null; detail: string }[];
}

const roamAvailable = roamMultipathAvailable();

async function runSetting(setting: number, paths: readonly PathSpec[]): Promise<SettingResult> {
  const mp = await MultipathLab.up(`mp-vs-mptcp-${setting}`, paths);
  const serverOf = new Map<Contender, LinesProcess>();
  try {
    await mp.mptcpEndpoints(paths.map((_, i) => i).slice(1));
    const best = paths.reduce((b, p, i) => (p.rateMbit > (paths[b]?.rateMbit ?? 0) ? i : b), 0);
    const contenders: Contender[] = [
      { name: `TCP best path (${paths[best]?.name})`, transport: 'tcp', path: best },
      { name: 'MPTCP', transport: 'mptcp' },
      { name: 'roam aggregate', transport: 'roam', scheduler: 'aggregate' },
    ];
    for (const c of contenders) {
      if (c.transport === 'roam' && !roamAvailable.ok) continue;
      serverOf.set(c, await startServer(mp, c, PORTS[c.transport]));
    }

    // The ideal: every path alone, steady goodput; probed before and after the contenders,
    // the higher of the two counts (a busy machine only ever lowers a probe).
    const probe = async (when: string) => {
      const out: number[] = [];
      for (let i = 0; i < paths.length; i++) {
        out.push(await singlePathMbit(mp, PORTS.tcp, i, PROBE_S));
        console.log(
          `setting ${setting} (${when}): ${paths[i]?.name} alone ${out[i]?.toFixed(2)} Mbit/s`,
        );
      }
      return out;
    };
    const singlesBefore = await probe('before');

    const rows: Row[] = [];
    const joins0 = (await mp.mptcpCounters('client')).MPTcpExtMPJoinSynAckRx ?? 0;
    for (const size of SIZES) {
      const repeat = REPEAT[size] ?? 1;
      const timeoutMs = 60_000 + (repeat * size * 8) / 5e3;
      const atSize: Row[] = [];
      for (const c of contenders) {
        const base = { contender: c.name, size, pathShares: {}, corrupt: 0 };
        if (c.transport === 'roam' && !roamAvailable.ok) {
          atSize.push({
            ...base,
            trialsMs: [],
            medianMs: Number.NaN,
            goodputMbit: Number.NaN,
            ofIdeal: Number.NaN,
            ofMptcp: Number.NaN,
            note: 'n/a',
          });
          continue;
        }
        const before = await mp.pathBytes();
        try {
          const trials = await timedDownloads(
            mp,
            c,
            PORTS[c.transport],
            [size],
            repeat,
            timeoutMs,
            size < BULK ? WARMUP : 0,
          );
          const ms = median(trials.map((t) => t.ms));
          atSize.push({
            ...base,
            trialsMs: trials.map((t) => Math.round(t.ms * 10) / 10),
            medianMs: ms,
            goodputMbit: mbit(size, ms),
            ofIdeal: Number.NaN, // once the ideal is known
            ofMptcp: Number.NaN,
            pathShares: downloadShares(before, await mp.pathBytes()),
            corrupt: trials.filter((t) => !t.ok).length,
          });
        } catch (err) {
          const server = serverOf.get(c);
          const crash = server && crashSummary(server, 'server');
          if (server && crash) {
            await server.stop();
            serverOf.set(c, await startServer(mp, c, PORTS[c.transport])); // for the next size
          }
          atSize.push({
            ...base,
            trialsMs: [],
            medianMs: Number.NaN,
            goodputMbit: Number.NaN,
            ofIdeal: Number.NaN,
            ofMptcp: Number.NaN,
            note: `failed: ${crash ?? (err as Error).message.slice(0, 300)}`,
          });
        }
        const r = atSize[atSize.length - 1] as Row;
        console.log(
          `setting ${setting} ${sizeName(size)} ${c.name}: ${r.medianMs.toFixed(1)} ms, ${r.goodputMbit.toFixed(2)} Mbit/s ${r.note ?? ''} shares ${JSON.stringify(r.pathShares)}`,
        );
      }
      const mptcp = atSize.find((r) => r.contender === 'MPTCP');
      for (const r of atSize) r.ofMptcp = mptcp ? r.goodputMbit / mptcp.goodputMbit : Number.NaN;
      rows.push(...atSize);
    }
    const mptcpJoins = ((await mp.mptcpCounters('client')).MPTcpExtMPJoinSynAckRx ?? 0) - joins0;
    const singlesAfter = await probe('after');
    const singles = singlesBefore.map((b, i) => Math.max(b, singlesAfter[i] ?? 0));
    const idealMbit = singles.reduce((a, b) => a + b, 0);
    for (const r of rows) r.ofIdeal = r.goodputMbit / idealMbit;
    return {
      setting,
      paths: paths.map((p, i) => ({
        ...p,
        queuePackets: queuePackets(p),
        singleMbit: singles[i] as number,
        singleMbitBefore: singlesBefore[i] as number,
        singleMbitAfter: singlesAfter[i] as number,
      })),
      idealMbit,
      rows,
      mptcpJoins,
      goals: goals(rows, contenders[0]?.name as string),
    };
  } finally {
    await Promise.all([...serverOf.values()].map((s) => s.stop()));
    await mp.down();
  }
}

function goals(rows: Row[], bestName: string): SettingResult['goals'] {
  const out: SettingResult['goals'] = [];
  const find = (name: string, size: number) =>
    rows.find((r) => r.contender === name && r.size === size);
  for (const size of SIZES) {
    const roam = find('roam aggregate', size);
    const mptcp = find('MPTCP', size);
    const best = find(bestName, size);
    const have = roam && Number.isFinite(roam.medianMs);
    if (size >= BULK) {
      out.push({
        goal: `${sizeName(size)}: roam ≥ 97% of ideal`,
        met: have ? roam.ofIdeal >= 0.97 : null,
        detail: have ? `${(roam.ofIdeal * 100).toFixed(1)}%` : (roam?.note ?? 'no result'),
      });
      out.push({
        goal: `${sizeName(size)}: roam ≥ MPTCP − 2 points (of ideal)`,
        met: have && mptcp ? roam.ofIdeal >= mptcp.ofIdeal - 0.02 : null,
        detail:
          have && mptcp
            ? `roam ${(roam.ofIdeal * 100).toFixed(1)}%, MPTCP ${(mptcp.ofIdeal * 100).toFixed(1)}%`
            : (roam?.note ?? 'no result'),
      });
    } else {
      out.push({
        goal: `${sizeName(size)}: roam faster than MPTCP`,
        met: have && mptcp ? roam.medianMs < mptcp.medianMs : null,
        detail:
          have && mptcp
            ? `roam ${roam.medianMs.toFixed(1)} ms, MPTCP ${mptcp.medianMs.toFixed(1)} ms`
            : (roam?.note ?? 'no result'),
      });
      out.push({
        goal: `${sizeName(size)}: roam ≤ 1.10 × best single path`,
        met: have && best ? roam.medianMs <= 1.1 * best.medianMs : null,
        detail:
          have && best
            ? `roam ${roam.medianMs.toFixed(1)} ms, TCP ${best.medianMs.toFixed(1)} ms (×${(roam.medianMs / best.medianMs).toFixed(2)})`
            : (roam?.note ?? 'no result'),
      });
    }
  }
  return out;
}

const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '–');
const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '–');

function markdown(results: SettingResult[]): string {
  const lines: string[] = [
    '## multipath-vs-mptcp',
    '',
    "Downloads over all paths at once, in the lab (client ── N paths ── router ── server). Rows: plain TCP on the fastest path; Linux MPTCP (the same Node program under `mptcpize run`; in-kernel path manager, a `subflow` endpoint per extra client path, `ip mptcp limits set subflow N add_addr_accepted N` on both ends); roam `aggregate`; and the ideal, the sum of every path's steady single-path TCP goodput measured in the same run. Each download is a new connection (session), timed from connect() to the last byte at the application, the request written right after connect() as a user would (Node's socket holds it until the TCP handshake, roam sends it as early data); median of the repetitions, after one untimed download of the same size below 10 MB (each row's client is a fresh process: every contender is measured warm). Every download is checked byte for byte (SHA-256). Congestion control: " +
      `${CONGESTION_CONTROL} in every namespace; bottleneck queue 1 BDP per path. "of ideal" = goodput / ideal goodput (short downloads cannot reach it: handshake and slow start); "vs MPTCP" = goodput / MPTCP's. Path shares: download bytes each path's wire carried during that row.`,
    '',
  ];
  if (!roamAvailable.ok) lines.push(`roam: ${roamAvailable.reason}.`, '');
  for (const s of results) {
    lines.push(
      `### Setting ${s.setting}: ${s.paths.map((p) => `${p.name} ${p.rateMbit} Mbit/s RTT ${p.rttMs} ms (queue ${p.queuePackets} pkts; alone ${f(p.singleMbitBefore, 2)} before, ${f(p.singleMbitAfter, 2)} after the rows)`).join(', ')}`,
      '',
      `Ideal: **${f(s.idealMbit, 2)} Mbit/s**. MPTCP subflows joined: ${s.mptcpJoins}.`,
      '',
      '| size | row | median ms | goodput Mbit/s | of ideal | vs MPTCP | path shares | trials ms |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const r of s.rows) {
      const shares = Object.entries(r.pathShares)
        .map(([k, v]) => `${k} ${Math.round(v * 100)}%`)
        .join(', ');
      lines.push(
        `| ${sizeName(r.size)} | ${r.contender} | ${r.note ? r.note : f(r.medianMs)} | ${f(r.goodputMbit, 2)} | ${pct(r.ofIdeal)} | ${f(r.ofMptcp, 2)} | ${shares} | ${r.trialsMs.join(', ')}${r.corrupt ? ` (${r.corrupt} corrupt!)` : ''} |`,
      );
    }
    for (const size of SIZES) {
      lines.push(
        `| ${sizeName(size)} | ideal | ${f((size * 8) / (s.idealMbit * 1000))} | ${f(s.idealMbit, 2)} | 100% | | | |`,
      );
    }
    lines.push('', 'Goals (issue 4):', '');
    for (const g of s.goals)
      lines.push(
        `- ${g.goal}: ${g.met === null ? 'not measured' : g.met ? 'met' : '**not met**'} (${g.detail})`,
      );
    lines.push('');
  }
  lines.push(
    `Reproduce: \`npm run build && node dist/bench/run.js multipath-vs-mptcp${QUICK ? ' --quick' : ''}\` (root; \`--quick\` for 64 KB–10 MB with fewer repetitions, BENCH_SETTINGS=1 or 2 for one setting, BENCH_CC for another congestion control).`,
  );
  return lines.join('\n');
}

const results: SettingResult[] = [];
for (const setting of SETTINGS) {
  results.push(await runSetting(setting, setting === 1 ? SETTING_1 : SETTING_2));
}
publish(
  'multipath-vs-mptcp',
  {
    quick: QUICK,
    congestionControl: CONGESTION_CONTROL,
    roam: roamAvailable.ok ? 'multipath core present' : roamAvailable.reason,
    results,
  },
  markdown(results),
);
console.log(markdown(results));
