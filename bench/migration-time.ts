// How long a roam session is interrupted when an end moves, in the lab with real addresses:
//
//   client ── wifi (delay: RTT/2 each way, no rate limit) ── router ── srv ── server
//
// The server streams a steady paced byte stream to the client. Measured: the time from the
// new connection attempt to the first new byte delivered to the application, for
//   client move  the client's address changes (renumber); the client finds the path dead
//                (keepalive) and reconnects from its new address,
//   server move  the server's address changes and the server is told to move: it sends
//                RECONNECT to the client, which reconnects to the new address,
//   both         the server's and then the client's address change before either recovers:
//                the RECONNECT goes to the client's old address and is lost, the client's
//                retries (every ρ) go to the server's old address until a third party (here a
//                stand-in for the name service) tells it the new one.
// Anchor, in the same run: the plain TCP handshake (connect) time from the client's namespace
// at each RTT, the unit of the ratios. Goals (issue 3): client ≤ 2 RTT + 10 ms, server
// ≤ 2.5 RTT + 10 ms, both ≤ ρ + 2 RTT + 10 ms; the paper's figures: 2 RTT and 2.5 RTT.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Lab } from '../src/lab/lab.js';
import { simpleTopology } from '../test/lab/lab-support.js';
import { benchOptions, option } from './lib/options.js';
import { median } from './lib/stats.js';
import { publish } from './report.js';
import { monoMs } from './workers/clock.js';
import { type LineEvent, LinesProcess } from './workers/lines-process.js';

const PEER = join(dirname(fileURLToPath(import.meta.url)), 'workers', 'mobile-peer.js');
const { values: opt } = benchOptions({
  name: 'migration-time',
  summary:
    "how long a session's stream stops when the client, the server or both move, in the lab (root)",
  variables: {
    BENCH_RTTS: option.numbers([20, 80, 200], 'RTTs of the wifi link to run at, ms', { min: 0 }),
    BENCH_REPEAT: option.number(5, 'moves of each kind at each RTT', { integer: true, min: 1 }),
    BENCH_RETRY_MS: option.number(500, 'ρ, the session retry interval, ms', { min: 1 }),
    BENCH_DEAD_AFTER_MS: option.number(undefined, 'session deadAfterMs', {
      min: 1,
      shown: '300 + 2 × RTT',
    }),
    BENCH_ARP: option.text(
      'announce',
      'announce: the router learns the new MAC at once after a renumber (as from a gratuitous ARP); none: it resolves through the delayed hop',
      { oneOf: ['announce', 'none'] },
    ),
    BENCH_STREAMS: option.numbers([4, 64], 'which streams to run, by write size in KiB (4, 64)', {
      integer: true,
      min: 1,
    }),
    BENCH_TRACE: option.text(
      undefined,
      'a file prefix: keep every worker event in PREFIX-RTT-WRITEBYTES.json (timelines for debugging a migration)',
    ),
  },
});
const RTTS = opt.BENCH_RTTS;
const REPEAT = opt.BENCH_REPEAT;
const RHO = opt.BENCH_RETRY_MS;
const PORT = 7500;
/**
 * Session options at an RTT: quick failure detection, so trials are short (detection is
 * reported apart from the migration). deadAfterMs grows with the RTT: at RTT 200 ms a
 * deadAfterMs of 300 declares a healthy path dead during slow start (see the report).
 */
const DEAD_AFTER_MS = opt.BENCH_DEAD_AFTER_MS;
const sessionOptions = (rtt: number) => ({
  keepaliveIntervalMs: 50,
  deadAfterMs: DEAD_AFTER_MS ?? 300 + 2 * rtt,
  retryIntervalMs: RHO,
  connectTimeoutMs: 3000,
});
/**
 * After a renumber, tell the neighbour across the link the new address's MAC, as a gratuitous
 * ARP or the DHCP exchange does on a real network. Without it the router resolves the new
 * address with ARP through the lab's delayed first hop, which adds a whole RTT to the TCP
 * handshake of the reconnect (measured: 40 ms instead of 20 at RTT 20): an artefact of putting
 * the path's whole delay on the first hop, not part of roam's migration.
 */
const ANNOUNCE = opt.BENCH_ARP !== 'none';
/**
 * Two applications, both 32 Mbit/s (far below the wire's ceiling, so no queue inflates the
 * RTT): small writes, and 64 KiB writes as a file stream makes. Each write becomes one DATA
 * frame, and the receiver delivers no byte of a frame before all of it has arrived.
 */
interface Stream {
  name: string;
  chunkBytes: number;
  paceMs: number;
}
const ALL_STREAMS: Stream[] = [
  { name: '4 KiB writes', chunkBytes: 4 * 1024, paceMs: 1 },
  { name: '64 KiB writes', chunkBytes: 64 * 1024, paceMs: 16 },
];
const STREAMS = ALL_STREAMS.filter((s) => opt.BENCH_STREAMS.includes(s.chunkBytes / 1024));

type Scenario = 'client' | 'server' | 'both';
const SCENARIOS: Scenario[] = ['client', 'server', 'both'];

interface Trial {
  /** The figure the goal is about, ms (see `measuredFrom`). */
  ms: number;
  /** From the start of the winning reconnect attempt (socket factory called) to the first byte. */
  attemptToFirstByteMs: number;
  /** From the client's 'migrating' event to the first byte. */
  migratingToFirstByteMs: number;
  /** client: address gone (renumber done) → 'migrating'; server: move → RECONNECT taken. */
  detectMs: number;
  reason: string;
  attempts: number;
  /** 'migrating' events after the migration completed, within the settle time (flapping). */
  extraMigrations: number;
  corrupt: number;
}

const measuredFrom: Record<Scenario, string> = {
  client: 'the new connection attempt (the client starts it when it finds the path dead)',
  server: 'the server move (RECONNECT sent), as in the paper',
  both: 'both ends reachable again and the new server address known to the client',
};

const topology = simpleTopology({ name: 'bench-migration', nat: false });

const isEvent = (name: string) => (e: LineEvent) => e.event === name;

/** Waits until the stream has flowed for a while since the last migration. */
/**
 * Waits until the stream has flowed for a while since the last migration; returns how many
 * migrations the client started meanwhile on its own (no fault: a healthy path found dead).
 */
async function steady(client: LinesProcess, rtt: number): Promise<number> {
  const start = client.mark;
  await sleep(400 + 2 * rtt);
  for (let tries = 0; ; tries++) {
    const a = await client.waitFor(isEvent('progress'), { from: client.mark, what: 'progress' });
    const b = await client.waitFor(isEvent('progress'), { from: client.mark, what: 'progress' });
    if ((b.bytes as number) > (a.bytes as number)) break;
    if (tries === 40)
      throw new Error(
        `the stream has not flowed for 20 s: ${JSON.stringify(client.events.slice(-8))}`,
      );
  }
  return client.events.slice(start).filter(isEvent('migrating')).length;
}

/** What the client saw of one migration, from event index `from` on. */
async function clientSide(client: LinesProcess, from: number, rtt: number) {
  const timeoutMs = 10_000 + 20 * rtt;
  const migrating = await client.waitFor(isEvent('migrating'), {
    from,
    timeoutMs,
    what: 'migrating',
  });
  const migrated = await client.waitFor(isEvent('migrated'), { from, timeoutMs, what: 'migrated' });
  const first = await client.waitFor(isEvent('first-byte'), {
    from,
    timeoutMs,
    what: 'first byte',
  });
  // Settle: a second migration right after this one would be flapping.
  await sleep(300 + 2 * rtt);
  const after = client.events.slice(client.events.indexOf(migrated) + 1);
  const attempts = client.events
    .slice(from)
    .filter((e) => e.event === 'attempt' && e.t <= migrated.t).length;
  return {
    migrating,
    migrated,
    first,
    attempts,
    extraMigrations: after.filter(isEvent('migrating')).length,
    corrupt: Number(first.corrupt ?? 0),
  };
}

/** Moves one end; the neighbour learns the new address at once unless BENCH_ARP=none. */
async function renumber(lab: Lab, link: string, side: 'a' | 'b'): Promise<string> {
  return (await lab.fault(link, 'renumber', undefined, { side, announce: ANNOUNCE })).to as string;
}

async function trial(
  lab: Lab,
  scenario: Scenario,
  server: LinesProcess,
  client: LinesProcess,
  rtt: number,
): Promise<Trial> {
  const from = client.mark;
  const sfrom = server.mark;
  if (scenario === 'client') {
    await renumber(lab, 'wifi', 'a');
    const gone = monoMs();
    const c = await clientSide(client, from, rtt);
    const attemptT = Number(c.migrated.attemptT);
    return {
      ms: c.first.t - attemptT,
      attemptToFirstByteMs: c.first.t - attemptT,
      migratingToFirstByteMs: c.first.t - c.migrating.t,
      detectMs: c.migrating.t - gone,
      reason: String(c.migrating.reason),
      attempts: c.attempts,
      extraMigrations: c.extraMigrations,
      corrupt: c.corrupt,
    };
  }
  if (scenario === 'server') {
    const to = await renumber(lab, 'srv', 'b');
    server.send(`move ${to}`);
    const moving = await server.waitFor(isEvent('moving'), { from: sfrom, what: 'moving' });
    const c = await clientSide(client, from, rtt);
    await server.waitFor(isEvent('moved'), { from: sfrom, what: 'moved' });
    client.send(`server ${to}`); // the name service catches up, for later client moves
    const attemptT = Number(c.migrated.attemptT);
    return {
      ms: c.first.t - moving.t,
      attemptToFirstByteMs: c.first.t - attemptT,
      migratingToFirstByteMs: c.first.t - c.migrating.t,
      detectMs: c.migrating.t - moving.t,
      reason: String(c.migrating.reason),
      attempts: c.attempts,
      extraMigrations: c.extraMigrations,
      corrupt: c.corrupt,
    };
  }
  // both: the server moves first, then the client, before either has recovered.
  const serverTo = await renumber(lab, 'srv', 'b');
  await renumber(lab, 'wifi', 'a');
  const gone = monoMs();
  server.send(`move ${serverTo}`);
  await server.waitFor(
    (e) =>
      e.event === 'listening' && (e.address as { host?: string } | undefined)?.host === serverTo,
    { from: sfrom, what: 'server listening at its new address' },
  );
  const migrating = await client.waitFor(isEvent('migrating'), {
    from,
    timeoutMs: 10_000,
    what: 'migrating',
  });
  // Let the client fail at least once at the old address, then tell it the new one at a
  // random phase of its retry cycle.
  await client.waitFor((e) => e.event === 'attempt' && e.t >= migrating.t, {
    from,
    what: 'an attempt at the old address',
  });
  await sleep(Math.random() * RHO);
  const reach = monoMs();
  client.send(`server ${serverTo}`);
  const c = await clientSide(client, from, rtt);
  const attemptT = Number(c.migrated.attemptT);
  return {
    ms: c.first.t - reach,
    attemptToFirstByteMs: c.first.t - attemptT,
    migratingToFirstByteMs: c.first.t - c.migrating.t,
    detectMs: c.migrating.t - gone,
    reason: String(c.migrating.reason),
    attempts: c.attempts,
    extraMigrations: c.extraMigrations,
    corrupt: c.corrupt,
  };
}

interface ScenarioResult {
  trials: Trial[];
  medianMs: number;
  maxMs: number;
}

interface RttResult {
  rttMs: number;
  /** Plain TCP connect from the client's namespace: the measured RTT (median of 10). */
  tcpConnectMs: number;
  tcpConnectAllMs: number[];
  streams: {
    stream: Stream;
    scenarios: Record<Scenario, ScenarioResult>;
    /** Migrations the client started between trials, with no fault: false path deaths. */
    spontaneousMigrations: number;
  }[];
}

/** One server and one client worker streaming `stream`; every kind of move, REPEAT times. */
async function runStream(
  lab: Lab,
  rtt: number,
  stream: Stream,
): Promise<{ scenarios: Record<Scenario, ScenarioResult>; spontaneousMigrations: number }> {
  const serverIp = lab.address('server');
  const server = new LinesProcess(lab, 'server', [
    process.execPath,
    PEER,
    'serve',
    serverIp,
    String(PORT),
    JSON.stringify({
      ...sessionOptions(rtt),
      paceMs: stream.paceMs,
      chunkBytes: stream.chunkBytes,
    }),
  ]);
  let client: LinesProcess | undefined;
  try {
    await server.waitFor(isEvent('listening'), { what: 'server listening' });
    client = new LinesProcess(lab, 'client', [
      process.execPath,
      PEER,
      'fetch',
      serverIp,
      String(PORT),
      JSON.stringify(sessionOptions(rtt)),
    ]);
    await client.waitFor(isEvent('connected'), { what: 'client connected' });
    const scenarios = {} as Record<Scenario, ScenarioResult>;
    let spontaneousMigrations = 0;
    for (const scenario of SCENARIOS) {
      const trials: Trial[] = [];
      for (let i = 0; i < REPEAT; i++) {
        spontaneousMigrations += await steady(client, rtt);
        const t = await trial(lab, scenario, server, client, rtt);
        trials.push(t);
        console.log(
          `RTT ${rtt} ms, ${stream.name}, ${scenario} move #${i + 1}: ${t.ms.toFixed(1)} ms (attempt → byte ${t.attemptToFirstByteMs.toFixed(1)}, detect ${t.detectMs.toFixed(1)}, attempts ${t.attempts}, flaps ${t.extraMigrations}, ${t.reason})`,
        );
      }
      const ms = trials.map((t) => t.ms);
      scenarios[scenario] = { trials, medianMs: median(ms), maxMs: Math.max(...ms) };
    }
    return { scenarios, spontaneousMigrations };
  } finally {
    await Promise.all([client?.stop(), server.stop()]);
    // BENCH_TRACE=PREFIX keeps every worker event (timelines for debugging a migration).
    if (opt.BENCH_TRACE)
      writeFileSync(
        `${opt.BENCH_TRACE}-${rtt}-${stream.chunkBytes}.json`,
        JSON.stringify({ server: server.events, client: client?.events ?? [] }),
      );
  }
}

/** The anchor: plain TCP connects from the client's namespace to the server. */
async function tcpConnect(lab: Lab): Promise<number[]> {
  const server = new LinesProcess(lab, 'server', [
    process.execPath,
    PEER,
    'serve',
    lab.address('server'),
    String(PORT),
    JSON.stringify(sessionOptions(20)),
  ]);
  try {
    await server.waitFor(isEvent('listening'), { what: 'server listening' });
    const { stdout } = await lab.exec('client', [
      process.execPath,
      PEER,
      'tcping',
      lab.address('server'),
      String(PORT + 1),
      '10',
    ]);
    return (JSON.parse(stdout.trim().split('\n').pop() as string) as { ms: number[] }).ms;
  } finally {
    await server.stop();
  }
}

const results: RttResult[] = [];
const started = performance.now();
const lab = await Lab.up(topology);
try {
  for (const rtt of RTTS) {
    await lab.fault('wifi', 'delay', rtt / 2);
    const connectMs = await tcpConnect(lab);
    const streams = [];
    for (const stream of STREAMS) streams.push({ stream, ...(await runStream(lab, rtt, stream)) });
    results.push({
      rttMs: rtt,
      tcpConnectMs: median(connectMs),
      tcpConnectAllMs: connectMs,
      streams,
    });
  }
} finally {
  await lab.down();
}

const goalMs = (s: Scenario, rtt: number) =>
  s === 'client' ? 2 * rtt + 10 : s === 'server' ? 2.5 * rtt + 10 : RHO + 2 * rtt + 10;
const goalText: Record<Scenario, string> = {
  client: '2 RTT + 10 ms',
  server: '2.5 RTT + 10 ms',
  both: 'ρ + 2 RTT + 10 ms',
};
const paper: Record<Scenario, string> = { client: '2 RTT', server: '2.5 RTT', both: '—' };

const rows = results.flatMap((r) =>
  r.streams.flatMap(({ stream, scenarios }) =>
    SCENARIOS.map((s) => {
      const x = scenarios[s];
      const rtt = r.tcpConnectMs;
      const attempt = x.trials.map((t) => t.attemptToFirstByteMs);
      return {
        rttMs: r.rttMs,
        tcpConnectMs: rtt,
        stream: stream.name,
        scenario: s,
        medianMs: x.medianMs,
        maxMs: x.maxMs,
        medianRtt: x.medianMs / rtt,
        maxRtt: x.maxMs / rtt,
        attemptMedianMs: median(attempt),
        attemptMaxMs: Math.max(...attempt),
        attemptMedianRtt: median(attempt) / rtt,
        detectMedianMs: median(x.trials.map((t) => t.detectMs)),
        goalMs: goalMs(s, rtt),
        meetsGoal: x.maxMs <= goalMs(s, rtt),
        flaps: x.trials.reduce((n, t) => n + t.extraMigrations, 0),
        corrupt: x.trials.reduce((n, t) => n + t.corrupt, 0),
      };
    }),
  ),
);

const result = {
  inputs: {
    rttsMs: RTTS,
    repeat: REPEAT,
    session: Object.fromEntries(RTTS.map((rtt) => [rtt, sessionOptions(rtt)])),
    streams: STREAMS.map(
      (x) =>
        `${x.name}: ${x.chunkBytes} bytes every ${x.paceMs} ms (${((x.chunkBytes * 8) / x.paceMs / 1000).toFixed(0)} Mbit/s), server to client`,
    ),
    measuredFrom,
    arp: ANNOUNCE
      ? 'after each renumber the neighbour learns the new MAC at once (as from a gratuitous ARP)'
      : 'none: the router resolves a new address with ARP through the delayed link',
    clock: 'CLOCK_MONOTONIC (process.hrtime), shared by the benchmark and its workers',
    rttUnit: 'the measured plain TCP connect time at that RTT (anchor)',
    seconds: (performance.now() - started) / 1000,
  },
  goals: goalText,
  paper,
  summary: rows,
  results,
};

console.table(
  rows.map((r) => ({
    RTT: r.rttMs,
    stream: r.stream,
    scenario: r.scenario,
    'median ms': r.medianMs.toFixed(1),
    'max ms': r.maxMs.toFixed(1),
    'median ×RTT': r.medianRtt.toFixed(2),
    'max ×RTT': r.maxRtt.toFixed(2),
    'attempt→byte ms': r.attemptMedianMs.toFixed(1),
    'detect ms': r.detectMedianMs.toFixed(1),
    'goal ms': r.goalMs.toFixed(0),
    meets: r.meetsGoal ? 'yes' : 'NO',
    flaps: r.flaps,
  })),
);

const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);
const md = [
  '## migration-time',
  '',
  `How long a roam session's stream stops when an end moves, in the lab (client ── wifi ── router ── srv ── server, the wifi link delayed to the RTT, no rate limit), the server streaming to the client at 32 Mbit/s in 4 KiB or in 64 KiB writes. Session options: keepalive 50 ms, dead after ${DEAD_AFTER_MS ?? '300 + 2 × RTT'} ms, ρ (retry interval) ${RHO} ms. ${REPEAT} moves of each kind at each RTT; median and max. The RTT unit is the anchor: a plain TCP connect from the client's namespace in the same run.`,
  '',
  `Measured from: client move — ${measuredFrom.client}; server move — ${measuredFrom.server}; both — ${measuredFrom.both}. To the first new byte delivered to the client application. "attempt → byte" is from the start of the winning reconnect attempt in every case; "detect" is address gone → the client notices (client, both) or move → RECONNECT taken (server).`,
  '',
  '| RTT ms | TCP connect ms (anchor) | writes | move | median ms | max ms | median × RTT | max × RTT | attempt → byte median ms (× RTT) | detect median ms | goal | paper | meets goal |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.rttMs} | ${f1(r.tcpConnectMs)} | ${r.stream.replace(' writes', '')} | ${r.scenario} | ${f1(r.medianMs)} | ${f1(r.maxMs)} | ${f2(r.medianRtt)} | ${f2(r.maxRtt)} | ${f1(r.attemptMedianMs)} (${f2(r.attemptMedianRtt)}) | ${f1(r.detectMedianMs)} | ${goalText[r.scenario as Scenario]} = ${r.goalMs.toFixed(0)} ms | ${paper[r.scenario as Scenario]} | ${r.meetsGoal ? 'yes' : '**no**'} |`,
  ),
  '',
  `Each write is one DATA frame, and the receiver delivers no byte of a frame before all of it has arrived: after a reconnect a 64 KiB frame needs about three flights of the new TCP connection's slow start (IW10 ≈ 14 KB, then 28, 56 KB), so 64 KiB writes resume later than 4 KiB writes. ${ANNOUNCE ? 'After each renumber the router learns the new MAC at once (as from a gratuitous ARP); otherwise (`BENCH_ARP=none`) resolving the new address through the delayed first hop adds one RTT to the reconnect.' : 'No ARP announcement after a renumber: the router resolves the new address through the delayed first hop, which adds one RTT to the reconnect.'}`,
  '',
  `Migrations the client started on its own between trials, with no fault (a healthy path declared dead): ${results
    .flatMap((r) =>
      r.streams.map((x) => `RTT ${r.rttMs} ms ${x.stream.name}: ${x.spontaneousMigrations}`),
    )
    .join('; ')}.`,
  '',
  'Reproduce: `npm run bench -- migration-time` (root; `BENCH_RTTS`, `BENCH_REPEAT`, `BENCH_RETRY_MS`, `BENCH_STREAMS=4,64`, `BENCH_ARP=none` change the inputs).',
].join('\n');
publish('migration-time', result, md);
