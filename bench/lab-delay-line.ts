// The lab's delay line: how fast can it carry a link, and how exact is the delay it adds?
// Anchor, in the same run: a plain veth pair between two namespaces, no wire in between.
import { spawn } from 'node:child_process';
import { Lab } from '../src/lab/lab.js';
import { newLabId } from '../src/lab/plan/names.js';
import { run, runSteps } from '../src/lab/system/run.js';
import { parseTopology } from '../src/lab/topology/load.js';
import { benchOptions, option } from './lib/options.js';
import { publish } from './report.js';

interface Iperf {
  end: {
    sum_received: { bits_per_second: number };
    cpu_utilization_percent?: { host_total: number; remote_total: number };
  };
}

const { values: opt } = benchOptions({
  name: 'lab-delay-line',
  summary:
    "the lab's delay line: throughput and delay accuracy against a plain veth pair (root, iperf3)",
  variables: {
    BENCH_SECONDS: option.number(5, 'seconds of each iperf3 run', { integer: true, min: 1 }),
  },
});
const SECONDS = opt.BENCH_SECONDS;

async function iperf(
  exec: (argv: string[]) => Promise<{ stdout: string }>,
  spawnServer: () => { kill(): void; ready: Promise<void> },
  target: string,
  extra: string[] = [],
) {
  const server = spawnServer();
  try {
    await server.ready;
    const { stdout } = await exec([
      'iperf3',
      '-c',
      target,
      '-t',
      String(SECONDS),
      '-O',
      '1',
      '-C',
      'cubic',
      '-J',
      ...extra,
    ]);
    return (JSON.parse(stdout) as Iperf).end.sum_received.bits_per_second / 1e6;
  } finally {
    server.kill();
  }
}

async function ping(
  exec: (argv: string[]) => Promise<{ stdout: string }>,
  target: string,
  count: number,
  interval: number,
): Promise<number> {
  const { stdout } = await exec([
    'ping',
    '-n',
    '-q',
    '-c',
    String(count),
    '-i',
    String(interval),
    target,
  ]);
  const m = /= [\d.]+\/([\d.]+)\//.exec(stdout);
  if (!m) throw new Error(`ping printed no RTT: ${stdout}`);
  return Number(m[1]);
}

function serverIn(ns: string) {
  const child = spawn('ip', ['netns', 'exec', ns, 'iperf3', '-s', '-1', '--forceflush'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => d.toString().includes('Server listening') && resolve());
    child.once('exit', () => reject(new Error('iperf3 server exited')));
  });
  return { ready, kill: () => child.kill('SIGKILL') };
}

async function plainVeth() {
  const id = newLabId();
  const a = `${id}-va`;
  const b = `${id}-vb`;
  await runSteps([
    { argv: ['ip', 'netns', 'add', a] },
    { argv: ['ip', 'netns', 'add', b] },
    {
      argv: [
        'ip',
        '-n',
        a,
        'link',
        'add',
        'name',
        'eth0',
        'type',
        'veth',
        'peer',
        'name',
        'eth0',
        'netns',
        b,
      ],
    },
    { argv: ['ip', '-n', a, 'addr', 'add', '10.66.0.1/24', 'dev', 'eth0'] },
    { argv: ['ip', '-n', b, 'addr', 'add', '10.66.0.2/24', 'dev', 'eth0'] },
    { argv: ['ip', '-n', a, 'link', 'set', 'dev', 'eth0', 'up'] },
    { argv: ['ip', '-n', b, 'link', 'set', 'dev', 'eth0', 'up'] },
    { argv: ['ip', '-n', a, 'link', 'set', 'dev', 'lo', 'up'] },
    { argv: ['ip', '-n', b, 'link', 'set', 'dev', 'lo', 'up'] },
  ]);
  try {
    const exec = (argv: string[]) => run(['ip', 'netns', 'exec', a, ...argv]);
    const mbit = await iperf(exec, () => serverIn(b), '10.66.0.2');
    const rtt = await ping(exec, '10.66.0.2', 20, 0.05);
    return { mbit, rttMs: rtt };
  } finally {
    await runSteps([
      { argv: ['ip', 'netns', 'del', a], mayFail: true },
      { argv: ['ip', 'netns', 'del', b], mayFail: true },
    ]);
  }
}

const topology = parseTopology({
  name: 'bench-delay-line',
  hosts: { client: {}, server: {} },
  links: [
    {
      name: 'wire',
      a: { host: 'client', ip: '10.67.0.1/24' },
      b: { host: 'server', ip: '10.67.0.2/24' },
    },
  ],
});

const anchor = await plainVeth();
const lab = await Lab.up(topology);
try {
  const exec = (argv: string[]) => lab.exec('client', argv);
  const stats = async () =>
    (
      (await lab.stats()) as Record<
        string,
        { ab: { txPackets: number }; ba: { txPackets: number } }
      >
    ).wire;
  const before = await stats();
  const t0 = performance.now();
  const mbit = await iperf(exec, () => serverIn(lab.ns('server')), '10.67.0.2');
  const seconds = (performance.now() - t0) / 1000;
  const after = await stats();
  const frames =
    (after?.ab.txPackets ?? 0) -
    (before?.ab.txPackets ?? 0) +
    (after?.ba.txPackets ?? 0) -
    (before?.ba.txPackets ?? 0);
  const pps = frames / seconds;
  const baseRtt = await ping(exec, '10.67.0.2', 20, 0.05);
  const delays = [];
  for (const rtt of [20, 80, 200]) {
    await lab.fault('wire', 'delay', rtt / 2);
    const measured = await ping(exec, '10.67.0.2', rtt === 200 ? 10 : 20, 0.2);
    const withDelayMbit =
      rtt === 20 ? await iperf(exec, () => serverIn(lab.ns('server')), '10.67.0.2') : undefined;
    delays.push({
      configuredRttMs: rtt,
      measuredRttMs: measured,
      errorMs: measured - rtt,
      tcpMbit: withDelayMbit,
    });
  }
  const result = {
    inputs: { seconds: SECONDS, congestionControl: 'cubic', tool: 'iperf3 TCP, one stream' },
    delayLine: { tcpMbit: mbit, framesPerSecond: pps, baseRttMs: baseRtt, delays },
    anchor: { plainVethTcpMbit: anchor.mbit, plainVethRttMs: anchor.rttMs },
    ratio: mbit / anchor.mbit,
  };
  console.table([
    {
      path: 'plain veth (anchor)',
      'TCP Mbit/s': anchor.mbit.toFixed(0),
      'RTT ms': anchor.rttMs.toFixed(3),
    },
    {
      path: 'lab wire, no delay',
      'TCP Mbit/s': mbit.toFixed(0),
      'RTT ms': baseRtt.toFixed(3),
      'frames/s (both dirs)': pps.toFixed(0),
    },
    ...delays.map((d) => ({
      path: `lab wire, RTT ${d.configuredRttMs} ms`,
      'TCP Mbit/s': d.tcpMbit?.toFixed(0) ?? '',
      'RTT ms': d.measuredRttMs.toFixed(3),
      'error ms': d.errorMs.toFixed(3),
    })),
  ]);
  const md = [
    '## lab-delay-line',
    '',
    'One TCP stream (iperf3, cubic) through one lab wire (tap → native delay line → tap, no rate limit), against a plain veth pair in the same run.',
    '',
    '| path | TCP Mbit/s | frames/s | RTT ms | added-delay error ms |',
    '|---|---|---|---|---|',
    `| plain veth (anchor) | ${anchor.mbit.toFixed(0)} | | ${anchor.rttMs.toFixed(3)} | |`,
    `| lab wire, no delay | ${mbit.toFixed(0)} (${(result.ratio * 100).toFixed(1)}% of veth) | ${pps.toFixed(0)} | ${baseRtt.toFixed(3)} | |`,
    ...delays.map(
      (d) =>
        `| lab wire, RTT ${d.configuredRttMs} ms | ${d.tcpMbit?.toFixed(0) ?? ''} | | ${d.measuredRttMs.toFixed(3)} | ${d.errorMs >= 0 ? '+' : ''}${d.errorMs.toFixed(3)} |`,
    ),
    '',
    'Reproduce: `npm run bench -- lab-delay-line` (root).',
  ].join('\n');
  publish('lab-delay-line', result, md);
} finally {
  await lab.down();
}
