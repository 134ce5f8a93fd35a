// Admission control under an abandoned-session flood (issue 11), in the lab:
//
//   honest ─┐
//   att1 ───┼── router ── srv ── server (maxSessions 500, detachTimeoutMs: the default day)
//   many ───┘ (50 addresses)
//
// Attackers open sessions as fast as they go (HELLO new, echoing a COOKIE when asked, WELCOME,
// an ACK, then a reset: a process killed with SIGKILL leaves exactly that), K connections at a
// time; the attack rate is what they achieve (abandoned sessions per second). After a warm-up,
// 50 honest clients connect at once and move 64 KB each through an echo (SHA-256 checked).
// Measured per attack level: honest connect success, connect p50/p99, server RSS, with
// admission on (the default) and off (the table of before: the anchor), in the same run.
import { setTimeout as sleep } from 'node:timers/promises';
import { Lab } from '../src/lab/lab.js';
import { benchOptions, option } from './lib/options.js';
import { publish } from './report.js';
import {
  ADMISSION_PEER,
  admissionTopology,
  manyAddresses,
  quantile,
  SERVER_IP,
} from './workers/admission-lab.js';
import { type LineEvent, LinesProcess } from './workers/lines-process.js';

const { values: opt } = benchOptions({
  name: 'admission',
  summary:
    'honest clients during an abandoned-session flood: success rate, connect p99 and server RSS against the attack rate, admission on and off (root, lab)',
  variables: {
    BENCH_LEVELS: option.numbers([0, 4, 16, 64, 128], 'attackers at a time, one row each', {
      integer: true,
      min: 0,
    }),
    BENCH_HONEST: option.number(50, 'honest clients per row', { integer: true, min: 1 }),
    BENCH_SIZE: option.number(64 * 1024, 'bytes each honest client sends and gets back', {
      integer: true,
      min: 1,
    }),
    BENCH_WARMUP_MS: option.number(8000, 'attack time before the honest clients start, ms', {
      integer: true,
      min: 0,
    }),
    BENCH_MAX_SESSIONS: option.number(500, "the server's maxSessions", { integer: true, min: 1 }),
  },
});
const LEVELS = opt.BENCH_LEVELS;
const HONEST = opt.BENCH_HONEST;
const SIZE = opt.BENCH_SIZE;
const WARMUP_MS = opt.BENCH_WARMUP_MS;
const MAX_SESSIONS = opt.BENCH_MAX_SESSIONS;
const PORT = '7470';
const MODES = ['on', 'off'] as const;
type Mode = (typeof MODES)[number];

interface Row {
  mode: Mode;
  concurrency: number;
  /** Abandoned sessions per second (the attackers got WELCOME). */
  attackPerSecond: number;
  /** Attack connections completed per second, whatever the answer (COOKIE, LIMIT, …). */
  attemptsPerSecond: number;
  honestOk: number;
  successRate: number;
  connectP50Ms: number;
  connectP99Ms: number;
  serverRssMiB: number;
  sessions: number;
  counters: Record<string, unknown>;
}

/** Sessions the attackers got (WELCOME), and connections they completed in all. */
const opened = (e: LineEvent | undefined) =>
  ((e?.counts as Record<string, number> | undefined)?.opened ?? 0) as number;
const attempts = (e: LineEvent | undefined) =>
  Object.values((e?.counts as Record<string, number> | undefined) ?? {}).reduce((a, b) => a + b, 0);

async function stats(server: LinesProcess): Promise<LineEvent> {
  const from = server.mark;
  server.send('stats');
  return server.waitFor((e) => e.event === 'stats', { from, timeoutMs: 10_000, what: 'stats' });
}

async function run(lab: Lab, many: string, mode: Mode, concurrency: number): Promise<Row> {
  const procs: LinesProcess[] = [];
  const start = (host: string, args: string[]) => {
    const p = new LinesProcess(lab, host, [process.execPath, ADMISSION_PEER, ...args]);
    procs.push(p);
    return p;
  };
  try {
    const options = { maxSessions: MAX_SESSIONS, admission: { enabled: mode === 'on' } };
    const server = start('server', ['serve', SERVER_IP, PORT, JSON.stringify(options)]);
    await server.waitFor((e) => e.event === 'listening', { timeoutMs: 20_000, what: 'server' });
    // Up to 32 at a time one process (one core) keeps up; beyond, two processes (two cores).
    const attackers =
      concurrency === 0
        ? []
        : concurrency <= 32
          ? [start('many', ['abandon', SERVER_IP, PORT, String(concurrency), '1', many])]
          : [
              start('many', ['abandon', SERVER_IP, PORT, String(concurrency / 2), '1', many]),
              start('att1', ['abandon', SERVER_IP, PORT, String(concurrency / 2), '1', '-']),
            ];
    await sleep(WARMUP_MS);
    const marks = attackers.map((a) => a.events.filter((e) => e.event === 'progress').at(-1));
    const t0 = performance.now();
    const honest = start('honest', ['honest', SERVER_IP, PORT, String(HONEST), String(SIZE)]);
    const done = await honest.waitFor((e) => e.event === 'done', {
      timeoutMs: 120_000,
      what: 'honest clients',
    });
    // The attack rate over the honest window (at least the last 2 s of progress reports).
    await sleep(Math.max(0, 2000 - (performance.now() - t0)));
    let perSecond = 0;
    let tries = 0;
    attackers.forEach((a, i) => {
      const last = a.events.filter((e) => e.event === 'progress').at(-1);
      const first = marks[i];
      if (!last || !first || last.t <= first.t) return;
      perSecond += ((opened(last) - opened(first)) * 1000) / (last.t - first.t);
      tries += ((attempts(last) - attempts(first)) * 1000) / (last.t - first.t);
    });
    const s = await stats(server);
    const ms = (done.connectMs as number[]).filter((x) => Number.isFinite(x));
    return {
      mode,
      concurrency,
      attackPerSecond: Math.round(perSecond),
      attemptsPerSecond: Math.round(tries),
      honestOk: done.ok as number,
      successRate: (done.ok as number) / HONEST,
      connectP50Ms: Number(quantile(ms, 0.5).toFixed(1)),
      connectP99Ms: Number(quantile(ms, 0.99).toFixed(1)),
      serverRssMiB: Number(((s.rss as number) / 2 ** 20).toFixed(1)),
      sessions: s.sessions as number,
      counters: s.counters as Record<string, unknown>,
    };
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
  }
}

const lab = await Lab.up(admissionTopology());
const rows: Row[] = [];
try {
  const many = await manyAddresses(lab, 49);
  for (const concurrency of LEVELS) {
    for (const mode of MODES) {
      const row = await run(lab, many, mode, concurrency);
      rows.push(row);
      console.log(JSON.stringify({ ...row, counters: undefined }));
    }
  }
} finally {
  await lab.down();
}

const pair = (c: number) => ({
  on: rows.find((r) => r.concurrency === c && r.mode === 'on'),
  off: rows.find((r) => r.concurrency === c && r.mode === 'off'),
});
const fmt = (r: Row | undefined) =>
  r
    ? `${r.attackPerSecond}/s (${r.attemptsPerSecond}/s) | ${r.honestOk}/${HONEST} | ${Number.isFinite(r.connectP50Ms) ? `${r.connectP50Ms} / ${r.connectP99Ms} ms` : 'none connected'} | ${r.serverRssMiB} MiB | ${r.sessions}`
    : '- | - | - | - | -';
const table = LEVELS.map((c) => {
  const { on, off } = pair(c);
  const ratio =
    on && off && off.successRate > 0 ? (on.successRate / off.successRate).toFixed(2) : '∞';
  return `| ${c} | ${fmt(on)} | ${fmt(off)} | ${on && off && off.successRate === 0 && on.successRate === 0 ? '-' : ratio} |`;
}).join('\n');
const markdown = `## admission

Honest clients during an abandoned-session flood (\`npm run bench -- admission\`, root): a
server with maxSessions ${MAX_SESSIONS} and the default detachTimeoutMs (one day); attackers on 50
addresses (and a second host beyond 32 at a time) open sessions as fast as they go (echoing
cookies when asked), confirm them and reset the connection; after ${WARMUP_MS / 1000} s, ${HONEST}
honest clients connect at once and move ${SIZE / 1024} KB each through an echo (SHA-256).
Admission on (the defaults) against off (the table of before, the anchor), same run. Each
cell: attack rate achieved (abandoned sessions/s, and in brackets attack connections/s
whatever the server answered) | honest clients that connected and
completed | connect p50 / p99 | server RSS | sessions in the table at the end.

| at a time | on: attack | on: honest ok | on: connect p50 / p99 | on: RSS | on: table | off: attack | off: honest ok | off: connect p50 / p99 | off: RSS | off: table | success on/off |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${table.replace(/ \| /g, ' | ')}

The machine is shared with other work; figures under load are noisy.`;
publish(
  'admission',
  {
    levels: LEVELS,
    honest: HONEST,
    sizeBytes: SIZE,
    warmupMs: WARMUP_MS,
    maxSessions: MAX_SESSIONS,
    rows,
  },
  markdown,
);
console.log(markdown);
