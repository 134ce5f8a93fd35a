// Simultaneous mobility through the name service (msocket §III-B3), in the lab:
//
//   client ── wifi (RTT/2 each way) ── router ── srv ── server
//                                         └──── dir (5 ms each way) ── names
//
// The server streams a paced byte pattern (8 Mbit/s) to a client that connected by name. Each
// trial, as in the paper's experiment: the server's address changes, then the client's; the
// client finds its path dead and tries where the server was; at a random moment of its retry
// cycle the server comes back at its new address (it listens there and publishes it). Measured:
// from that moment (both reachable) to the first new byte at the client.
//   watch   the client follows the server's name: bound q + w + 2 RTT
//   lookup  no watch, each retry (every ρ) looks the name up first: bound ρ + q + w + 2 RTT
// q: a warm lookup from the client; w: the server's publish (listen → answer); RTT: the lowest
// of 20 pings from the client to the server; all measured in the same run. The anchor is that bound, and the
// lookup mode (the paper's) runs in the same run.
import { setTimeout as sleep } from 'node:timers/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lab } from '../src/lab/lab.js';
import { simpleTopology } from '../test/lab/lab-support.js';
import { benchOptions, option } from './lib/options.js';
import { median } from './lib/stats.js';
import { publish } from './report.js';
import { LOCAL_POLL_MS } from '../src/session/names/local-change.js';
import { monoMs } from './workers/clock.js';
import { type LineEvent, LinesProcess } from './workers/lines-process.js';

const PEER = join(dirname(fileURLToPath(import.meta.url)), 'workers', 'named-peer.js');
const { values: opt } = benchOptions({
  name: 'names-mobility',
  summary:
    'both ends of a session move and meet again through the name service (watch vs lookup before each retry), in the lab (root)',
  variables: {
    BENCH_RTTS: option.numbers([20, 80], 'RTTs of the wifi link to run at, ms', { min: 0 }),
    BENCH_REPEAT: option.number(5, 'trials per row', { integer: true, min: 1 }),
    BENCH_RETRY_MS: option.number(1000, 'ρ, the client retry interval, ms', { min: 1 }),
  },
});
const RTTS = opt.BENCH_RTTS;
const REPEAT = opt.BENCH_REPEAT;
const RHO = opt.BENCH_RETRY_MS;
const MODES = ['watch', 'lookup'] as const;
type Mode = (typeof MODES)[number];

const sessionOptions = (rtt: number) => ({
  keepaliveIntervalMs: 50,
  deadAfterMs: 300 + 2 * rtt,
  retryIntervalMs: RHO,
  connectTimeoutMs: 3000,
});

const topology = simpleTopology({ name: 'bench-names', nat: false, names: true });

const isEvent = (name: string) => (e: LineEvent) => e.event === name;

/** Moves one end, announced as a gratuitous ARP would (see bench/migration-time.ts). */
async function renumber(lab: Lab, link: string, side: 'a' | 'b'): Promise<string> {
  return (await lab.fault(link, 'renumber', undefined, { side, announce: true })).to as string;
}

/** Waits until the stream flows again. */
async function steady(client: LinesProcess): Promise<void> {
  for (let tries = 0; ; tries++) {
    const a = await client.waitFor(isEvent('progress'), { from: client.mark, what: 'progress' });
    const b = await client.waitFor(isEvent('progress'), { from: client.mark, what: 'progress' });
    if ((b.bytes as number) > (a.bytes as number)) return;
    if (tries === 80) throw new Error('the stream has not flowed for 40 s');
  }
}

/** The client–server RTT: the lowest of 20 pings (the anchor's RTT unit). */
async function pingMs(lab: Lab): Promise<number> {
  const { stdout } = await lab.exec('client', [
    ...['ping', '-n', '-q', '-c', '20', '-i', '0.05', lab.address('server')],
  ]);
  const m = /= ([\d.]+)\//.exec(stdout);
  if (!m) throw new Error(`no RTT in ping's output: ${stdout}`);
  return Number(m[1]);
}

interface Trial {
  recoveryMs: number;
  wMs: number;
  attempts: number;
  corrupt: number;
}

async function trial(lab: Lab, server: LinesProcess, client: LinesProcess): Promise<Trial> {
  await steady(client);
  const from = client.mark;
  const sfrom = server.mark;
  const serverTo = await renumber(lab, 'srv', 'b');
  await renumber(lab, 'wifi', 'a');
  const renumbered = monoMs();
  const migrating = await client.waitFor(isEvent('migrating'), { from, what: 'migrating' });
  // The client is back (at its new address) once it has tried the old server address from
  // there, and once its host has noticed its own new address (it checks every 250 ms while
  // detached: the path may have been found dead before the client's renumber finished).
  const settled = Math.max(migrating.t, renumbered + LOCAL_POLL_MS + 50);
  await client.waitFor((e) => e.event === 'reconnecting' && e.t >= settled, {
    from,
    what: 'an attempt at the old address',
  });
  // Both come back at a random phase of the client's retry cycle.
  await sleep(Math.random() * RHO);
  server.send(`move ${serverTo}`);
  const moving = await server.waitFor(isEvent('moving'), { from: sfrom, what: 'moving' });
  const published = await server.waitFor((e) => e.event === 'published' && e.ip === serverTo, {
    from: sfrom,
    what: 'published',
  });
  const first = await client.waitFor(isEvent('first-byte'), {
    from,
    timeoutMs: 30_000,
    what: 'first byte',
  });
  const migrated = await client.waitFor(isEvent('migrated'), { from, what: 'migrated' });
  if (migrated.remote !== serverTo)
    throw new Error(`resumed at ${String(migrated.remote)}, not ${serverTo}`);
  return {
    recoveryMs: first.t - moving.t,
    wMs: published.t - moving.t,
    attempts: client.events.slice(from).filter(isEvent('reconnecting')).length,
    corrupt: Number(first.corrupt ?? 0),
  };
}

interface ModeResult {
  mode: Mode;
  qMs: number;
  qColdMs: number;
  trials: Trial[];
}

async function runMode(lab: Lab, url: string, rtt: number, mode: Mode): Promise<ModeResult> {
  const name = `files-${rtt}-${mode}`;
  const opts = sessionOptions(rtt);
  const server = new LinesProcess(lab, 'server', [
    process.execPath,
    PEER,
    'serve',
    url,
    name,
    lab.address('server'),
    '7600',
    JSON.stringify({ ...opts, paceMs: 4, chunkBytes: 4096 }),
  ]);
  let client: LinesProcess | undefined;
  try {
    await server.waitFor(isEvent('published'), { what: 'first publish' });
    client = new LinesProcess(lab, 'client', [
      process.execPath,
      PEER,
      'fetch',
      url,
      name,
      JSON.stringify({ ...opts, watchName: mode === 'watch' }),
    ]);
    const lookup = await client.waitFor(isEvent('lookup'), { what: 'lookup' });
    await client.waitFor(isEvent('connected'), { what: 'connected' });
    const trials: Trial[] = [];
    for (let i = 0; i < REPEAT; i++) {
      const t = await trial(lab, server, client);
      trials.push(t);
      console.log(
        `RTT ${rtt} ms, ${mode} #${i + 1}: ${t.recoveryMs.toFixed(1)} ms (w ${t.wMs.toFixed(1)}, attempts ${t.attempts})`,
      );
    }
    return {
      mode,
      qMs: lookup.ms as number,
      qColdMs: lookup.coldMs as number,
      trials,
    };
  } finally {
    await Promise.all([client?.stop(), server.stop()]);
  }
}

const started = performance.now();
const results: { rttMs: number; pingMs: number; modes: ModeResult[] }[] = [];
const lab = await Lab.up(topology);
try {
  const names = new LinesProcess(lab, 'names', [
    process.execPath,
    PEER,
    'names',
    '0.0.0.0',
    '7447',
  ]);
  try {
    await names.waitFor(isEvent('listening'), { what: 'name server' });
    const url = `http://${lab.address('names')}:7447`;
    for (const rtt of RTTS) {
      await lab.fault('wifi', 'delay', rtt / 2);
      const ping = await pingMs(lab);
      const modes: ModeResult[] = [];
      for (const mode of MODES) modes.push(await runMode(lab, url, rtt, mode));
      results.push({ rttMs: rtt, pingMs: ping, modes });
    }
  } finally {
    await names.stop();
  }
} finally {
  await lab.down();
}

const rows = results.flatMap((r) =>
  r.modes.map((m) => {
    const recovery = m.trials.map((t) => t.recoveryMs);
    const w = median(m.trials.map((t) => t.wMs));
    const rttMs = r.pingMs;
    const bound = m.qMs + w + 2 * rttMs + (m.mode === 'lookup' ? RHO : 0);
    return {
      rttMs: r.rttMs,
      mode: m.mode,
      pingMs: rttMs,
      qMs: m.qMs,
      qColdMs: m.qColdMs,
      wMs: w,
      boundMs: bound,
      medianMs: median(recovery),
      maxMs: Math.max(...recovery),
      medianToBound: median(recovery) / bound,
      // Each trial against its own bound (its own w).
      withinBound: m.trials.filter((t) => t.recoveryMs <= bound - w + t.wMs).length,
      trials: recovery.length,
      corrupt: m.trials.reduce((n, t) => n + t.corrupt, 0),
    };
  }),
);
console.table(rows);

const f1 = (x: number) => x.toFixed(1);
const md = [
  '## names-mobility',
  '',
  `Both ends of a roam session move and meet again through the name service, in the lab (client ── wifi (RTT) ── router ── srv ── server; the name server 10 ms RTT from the router). The server streams 8 Mbit/s to a client that connected by name (RECONNECT off). Each trial: the server's address changes, then the client's; the client finds its path dead (keepalive 50 ms, dead after 300 ms + 2 RTT) and tries the old address; at a random moment of its retry cycle (ρ ${RHO} ms) the server listens at its new address and publishes it. Measured: from then (both reachable) to the first new byte at the client; ${REPEAT} trials per row. Bound: q + w + 2 RTT with the watch, ρ + q + w + 2 RTT with a lookup before each retry (msocket §III-B3), with q a warm lookup from the client (cold: the first, with its TCP handshake), w the server's publish (median; each trial is also checked against its own w) and RTT the lowest of 20 pings, all measured in the same run.`,
  '',
  '| RTT ms | mode | ping RTT ms | q ms (cold) | w ms | bound ms | median ms | max ms | median / bound | trials within their bound |',
  '|---|---|---|---|---|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.rttMs} | ${r.mode === 'watch' ? 'watch' : 'lookup each retry'} | ${f1(r.pingMs)} | ${f1(r.qMs)} (${f1(r.qColdMs)}) | ${f1(r.wMs)} | ${r.mode === 'watch' ? 'q + w + 2 RTT' : 'ρ + q + w + 2 RTT'} = ${r.boundMs.toFixed(0)} | ${f1(r.medianMs)} | ${f1(r.maxMs)} | ${r.medianToBound.toFixed(2)} | ${r.withinBound}/${r.trials} |`,
  ),
  '',
  'The paper measured the lookup mode only (Fig. 9: within ρ + q + w + 2 RTT at 116 ms RTT, q 100 ms, w 32 ms). With the watch the retry interval drops out: the client hears of the new address when it is published.',
  '',
  'Reproduce: `npm run bench -- names-mobility` (root; `BENCH_RTTS`, `BENCH_REPEAT`, `BENCH_RETRY_MS` change the inputs).',
].join('\n');

publish(
  'names-mobility',
  {
    inputs: {
      rttsMs: RTTS,
      repeat: REPEAT,
      retryIntervalMs: RHO,
      session: Object.fromEntries(RTTS.map((rtt) => [rtt, sessionOptions(rtt)])),
      clock: 'CLOCK_MONOTONIC (process.hrtime), shared by the benchmark and its workers',
      seconds: (performance.now() - started) / 1000,
    },
    summary: rows,
    results,
  },
  md,
);
