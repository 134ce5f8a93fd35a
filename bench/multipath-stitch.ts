// Stitching interfaces together: ten emulated interfaces (5–20 Mbit/s, RTT 20–80 ms) between
// client and router, added one at a time to a running download, as in the OVS paper's
// ten-interface experiment (which reached more than three times the fastest interface).
//
//   client ── p1 … p10 ── router ── server
//
// roam: a session that starts with p1's address and gets session.addPath({ localAddress })
// for the next interface every STEP_S seconds. MPTCP (the anchor): the same download under
// `mptcpize run`, one client `subflow` endpoint added every STEP_S seconds (the in-kernel path
// manager opens a subflow on a live connection when an endpoint appears); the kernel caps a
// connection at 8 extra subflows, so MPTCP stops at 9 interfaces. Reported after each
// addition: the application's goodput over the last MEASURE_S seconds of the step, as a
// fraction of the sum of the interfaces in use, each measured alone (plain TCP) in this run.
//
// `--quick`: shorter steps and single-path probes.
import { benchOptions, option } from './lib/options.js';
import { publish } from './report.js';
import {
  clientOptions,
  type Contender,
  crashSummary,
  isEvent,
  mbit,
  roamMultipathAvailable,
  singlePathMbit,
  startClient,
  startServer,
} from './multipath/contenders.js';
import {
  congestionControl,
  LAB_OPTIONS,
  downloadShares,
  MultipathLab,
  queuePackets,
  STITCH_PATHS,
} from './multipath/lab.js';
import type { LinesProcess } from './workers/lines-process.js';
import { monoMs } from './workers/clock.js';
import { cpus, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

const { values: opt, flags } = benchOptions({
  name: 'multipath-stitch',
  summary:
    'interfaces added one at a time to a running download (ten-interface experiment): roam vs MPTCP, in the lab (root, mptcpize)',
  flags: { quick: 'shorter steps and single-path probes' },
  variables: {
    BENCH_QUICK: option.flag(false, 'the same as --quick'),
    BENCH_STEP_S: option.number(undefined, 'seconds between two interface additions', {
      min: 1,
      shown: '10 (6 with --quick)',
    }),
    BENCH_INTERFACES: option.number(
      10,
      `how many interfaces to add (at most ${STITCH_PATHS.length})`,
      { integer: true, min: 1 },
    ),
    ...LAB_OPTIONS,
  },
});
const QUICK = flags.quick || opt.BENCH_QUICK;
const STEP_S = opt.BENCH_STEP_S ?? (QUICK ? 6 : 10);
const CONGESTION_CONTROL = congestionControl();
/** The last MEASURE_S seconds of each step are measured (the rest is ramp-up). */
const MEASURE_S = Math.max(2, STEP_S - (QUICK ? 3 : 4));
const PROBE_S = QUICK ? 4 : 8;
const N = Math.min(STITCH_PATHS.length, opt.BENCH_INTERFACES);
const PATHS = STITCH_PATHS.slice(0, N);
/** MPTCP: the initial subflow plus at most 8 joined ones (MPTCP_PM_ADDR_MAX in the kernel). */
const MPTCP_MAX = 9;
const PORTS: Record<string, number> = { TCP: 7801, MPTCP: 7802, 'roam aggregate': 7803 };
const ENDLESS = 2 ** 40;

interface Step {
  interfaces: number;
  /** Sum of the single-path goodputs of the interfaces in use, Mbit/s. */
  sumMbit: number;
  goodputMbit: number;
  ofSum: number;
  /** Over the fastest interface's single-path goodput. */
  ofFastest: number;
  /** Download bytes per interface during the measured window. */
  shares: Record<string, number>;
  /** CPU of the client and server workers during the window, share of one core. */
  clientCpu: number;
  serverCpu: number;
  /** The machine's 1-minute load average at the end of the window. */
  load1: number;
  note?: string;
}

interface Run {
  contender: string;
  steps: Step[];
  note?: string;
}

/** Goodput from the client's progress samples between two instants. */
function windowMbit(client: LinesProcess, from: number, to: number): number {
  const ps = client.events.filter(isEvent('progress'));
  const a = ps.find((p) => p.t >= from);
  const b = [...ps].reverse().find((p) => p.t <= to);
  if (!a || !b || b.t <= a.t) return Number.NaN;
  return mbit(Number(b.bytes) - Number(a.bytes), b.t - a.t);
}

async function stitch(
  mp: MultipathLab,
  server: LinesProcess,
  c: Contender,
  singles: number[],
  add: (index: number, client: LinesProcess) => Promise<void>,
  max: number,
): Promise<Step[]> {
  const fastest = Math.max(...singles);
  const extra =
    c.transport === 'roam' ? { localAddresses: [mp.clientIp(0)], maxFlowpaths: PATHS.length } : {};
  const client = startClient(mp, c, 'stream', PORTS[c.name] as number, {
    ...clientOptions(mp, c),
    ...extra,
    size: ENDLESS,
    progressMs: 200,
  });
  const steps: Step[] = [];
  try {
    await client.waitFor(isEvent('connected'), { what: `${c.name} connected` });
    for (let i = 0; i < PATHS.length; i++) {
      const n = i + 1;
      const sumMbit = singles.slice(0, n).reduce((a, b) => a + b, 0);
      if (i >= max) {
        steps.push({
          interfaces: n,
          sumMbit,
          goodputMbit: Number.NaN,
          ofSum: Number.NaN,
          ofFastest: Number.NaN,
          shares: {},
          clientCpu: Number.NaN,
          serverCpu: Number.NaN,
          load1: Number.NaN,
          note: `not possible: the kernel allows ${max - 1} extra subflows per MPTCP connection`,
        });
        continue;
      }
      if (i > 0) await add(i, client);
      const stepStart = monoMs();
      // The experiment's schedule (an interface every STEP_S s), not a wait for some event.
      await sleep((STEP_S - MEASURE_S) * 1000);
      const from = monoMs();
      const before = await mp.pathBytes();
      const cpu0 = [client.cpuSeconds(), server.cpuSeconds()];
      await sleep(MEASURE_S * 1000);
      const to = monoMs();
      const [clientCpu, serverCpu] = [client.cpuSeconds(), server.cpuSeconds()].map(
        (c, k) => (c - (cpu0[k] as number)) / ((to - from) / 1000),
      ) as [number, number];
      const shares = downloadShares(before, await mp.pathBytes());
      const failed = client.events.find((e) => e.event === 'error' || e.event === 'add-failed');
      const crash = crashSummary(server, 'server') ?? crashSummary(client, 'client');
      const goodputMbit = windowMbit(client, from, to);
      steps.push({
        interfaces: n,
        sumMbit,
        goodputMbit,
        ofSum: goodputMbit / sumMbit,
        ofFastest: goodputMbit / fastest,
        shares,
        clientCpu,
        serverCpu,
        load1: loadavg()[0] as number,
        note:
          crash ??
          (failed ? `${failed.event}: ${String(failed.message ?? failed.code)}` : undefined),
      });
      console.log(
        `${c.name} ${n} interfaces: ${goodputMbit.toFixed(2)} Mbit/s of ${sumMbit.toFixed(2)} (${((goodputMbit / sumMbit) * 100).toFixed(1)}%), step ${((to - stepStart) / 1000).toFixed(1)} s, shares ${JSON.stringify(Object.fromEntries(Object.entries(shares).map(([k, v]) => [k, Math.round(v * 100)])))}`,
      );
      if (crash || client.events.some(isEvent('error'))) break;
    }
  } finally {
    await client.stop();
  }
  return steps;
}

const roamAvailable = roamMultipathAvailable();
const runs: Run[] = [];
const mp = await MultipathLab.up('mp-stitch', PATHS);
const servers: LinesProcess[] = [];
const singles: number[] = [];
try {
  const tcp: Contender = { name: 'TCP', transport: 'tcp' };
  servers.push(await startServer(mp, tcp, PORTS.TCP as number));
  for (let i = 0; i < PATHS.length; i++) {
    singles.push(await singlePathMbit(mp, PORTS.TCP as number, i, PROBE_S));
    console.log(`${PATHS[i]?.name} alone: ${singles[i]?.toFixed(2)} Mbit/s`);
  }

  const mptcp: Contender = { name: 'MPTCP', transport: 'mptcp' };
  const mptcpServer = await startServer(mp, mptcp, PORTS.MPTCP as number);
  servers.push(mptcpServer);
  await mp.mptcpEndpoints([]);
  runs.push({
    contender: mptcp.name,
    steps: await stitch(mp, mptcpServer, mptcp, singles, (i) => mp.mptcpAddEndpoint(i), MPTCP_MAX),
  });
  await mp.mptcpEndpoints([]);

  const roam: Contender = { name: 'roam aggregate', transport: 'roam', scheduler: 'aggregate' };
  if (!roamAvailable.ok) runs.push({ contender: roam.name, steps: [], note: roamAvailable.reason });
  else {
    const roamServer = await startServer(mp, roam, PORTS[roam.name] as number);
    servers.push(roamServer);
    runs.push({
      contender: roam.name,
      steps: await stitch(
        mp,
        roamServer,
        roam,
        singles,
        async (i, client) => {
          const from = client.mark;
          client.send(`add ${mp.clientIp(i)}`);
          await client.waitFor(
            (e) => ['added', 'add-failed', 'add-unsupported'].includes(e.event),
            { from, what: `roam addPath ${mp.clientIp(i)}` },
          );
        },
        PATHS.length,
      ),
    });
  }
} finally {
  await Promise.all(servers.map((s) => s.stop()));
  await mp.down();
}

const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '–');
const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '–');
const lines = [
  '## multipath-stitch',
  '',
  `Interfaces added one at a time to a running download (the OVS paper's ten-interface experiment): ${PATHS.length} links between client and router, ${PATHS.map((p, i) => `${p.name} ${p.rateMbit} Mbit/s RTT ${p.rttMs} ms (alone ${f(singles[i] ?? Number.NaN, 2)})`).join(', ')}; queues 1 BDP (${PATHS.map(queuePackets).join(', ')} packets); congestion control ${CONGESTION_CONTROL}. One more interface every ${STEP_S} s; goodput at the application over the last ${MEASURE_S} s of each step, as a fraction of the sum of the interfaces in use (each measured alone with plain TCP in this run) and of the fastest one. roam: \`session.addPath({ localAddress })\`; MPTCP: \`ip mptcp endpoint add ADDR dev DEV subflow\` on the client during the connection (the kernel opens the subflow), at most 9 interfaces (8 extra subflows, the kernel's limit). CPU: the client and server processes' CPU time over the window, in cores (the machine has ${cpus().length}; the lab's delay lines run in another process); load avg: the machine's, which other work shares.`,
  '',
];
for (const run of runs) {
  lines.push(`### ${run.contender}`, '');
  if (run.note) {
    lines.push(`${run.note}.`, '');
    continue;
  }
  lines.push(
    '| interfaces | sum alone Mbit/s | goodput Mbit/s | of sum | × fastest | interfaces carrying ≥ 1% | CPU client, server (cores) | load avg |',
    '|---|---|---|---|---|---|---|---|',
  );
  for (const s of run.steps) {
    const carrying = Object.entries(s.shares).filter(([, v]) => v >= 0.01).length;
    lines.push(
      `| ${s.interfaces} | ${f(s.sumMbit, 2)} | ${f(s.goodputMbit, 2)} | ${pct(s.ofSum)} | ${f(s.ofFastest, 2)} | ${s.note ?? carrying} | ${f(s.clientCpu, 2)}, ${f(s.serverCpu, 2)} | ${f(s.load1, 1)} |`,
    );
  }
  lines.push('');
}
lines.push(
  `Reproduce: \`npm run build && node dist/bench/run.js multipath-stitch${QUICK ? ' --quick' : ''}\` (root; BENCH_STEP_S, BENCH_INTERFACES).`,
);
publish(
  'multipath-stitch',
  {
    quick: QUICK,
    stepS: STEP_S,
    measureS: MEASURE_S,
    congestionControl: CONGESTION_CONTROL,
    paths: PATHS.map((p, i) => ({ ...p, queuePackets: queuePackets(p), singleMbit: singles[i] })),
    roam: roamAvailable.ok ? 'multipath core present' : roamAvailable.reason,
    runs,
  },
  lines.join('\n'),
);
console.log(lines.join('\n'));
