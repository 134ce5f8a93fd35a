// roam tunnel over two paths against Linux MPTCP on the same paths, same lab, same run:
//
//   client ── pa 20 Mbit/s RTT 20 ms ──┐
//   client ── pb  8 Mbit/s RTT 80 ms ──┴── router ── server (roam tunnel serve / iperf3)
//
// 1. Failover: an iperf3 TCP download (-R) inside the tunnel (best-path and aggregate modes)
//    or over MPTCP (mptcpize, a subflow on each path); 3 s in, pa stalls (silently drops both
//    ways) or goes down, and stays so. Reported: the longest stretch of 100 ms intervals with
//    under 10 KB received after the fault (the gap the application sees).
// 2. Aggregate: one TCP flow and 8 parallel flows in aggregate mode, as a fraction of the sum
//    of the single paths (each measured through the tunnel pinned to it), with the packets
//    the serve end's reorder buffer put back in sequence. MPTCP's one flow for reference.
// Queues are one BDP per path (bench/multipath/lab.ts). The uplinks' rates given to the
// aggregate scheduler are 90% of the nominal ones (its virtual queues must fill before the
// real ones do). Root.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/package-root.js';
import { askControl } from '../src/tunnel/control-socket.js';
import { formatKey, generateKeyPair } from '../src/tunnel/keys.js';
import { benchOptions, option } from './lib/options.js';
import { LAB_OPTIONS, MultipathLab, SERVER_IP, SETTING_1 } from './multipath/lab.js';
import { publish } from './report.js';

const { values: opt } = benchOptions({
  name: 'tunnel-paths',
  summary:
    'a TCP flow inside roam tunnel over two lab paths: failover gap (stall, down) against MPTCP, and the aggregate table (root, iperf3, mptcpize)',
  variables: {
    ...LAB_OPTIONS,
    BENCH_SECONDS: option.number(10, 'seconds of each iperf3 download', { integer: true, min: 1 }),
    BENCH_ONLY: option.text(undefined, 'aggregate: run the aggregate table alone', {
      oneOf: ['aggregate'],
    }),
  },
});
const SECONDS = opt.BENCH_SECONDS;
const FAULT_AFTER_MS = 3000;
const ONLY_AGGREGATE = opt.BENCH_ONLY === 'aggregate';
const CLI = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'roam-bench-tunnel-paths-'));
process.env.ROAM_TUNNEL_STATE_DIR = join(dir, 'state');
const TUNNEL_SERVER = '10.98.0.1';
const children: ChildProcess[] = [];

const mp = await MultipathLab.up('bench-tunnel-paths', SETTING_1);
const lab = mp.lab;

function start(host: string, argv: string[], ready: string): Promise<ChildProcess> {
  const child = lab.spawn(host, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
  children.push(child);
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`${argv[0]} not ready: ${seen}`)), 15_000);
    const onData = (d: Buffer) => {
      seen = (seen + d.toString()).slice(-2000);
      if (seen.includes(ready)) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${argv.join(' ')} exited with ${code}: ${seen}`));
    });
  });
}

async function stop(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const gone = new Promise((r) => c.once('exit', r));
  c.kill('SIGTERM');
  setTimeout(() => c.kill('SIGKILL'), 5000).unref();
  await gone;
}

interface Interval {
  sum: { bytes: number; seconds: number; start: number };
}

/** The longest run of intervals after `afterS` that together carried under 10 KB each. */
function gapAfter(intervals: Interval[], afterS: number): number {
  let gap = 0;
  let run = 0;
  for (const i of intervals) {
    if (i.sum.start < afterS) continue;
    run = i.sum.bytes < 10_000 ? run + i.sum.seconds : 0;
    gap = Math.max(gap, run);
  }
  return gap;
}

async function iperf(target: string, extra: string[], mptcp = false) {
  const pre = mptcp ? ['mptcpize', 'run'] : [];
  const server = await start(
    'server',
    [...pre, 'iperf3', '-s', '-1', '--forceflush', '-B', target],
    'Server listening',
  );
  try {
    const { stdout } = await lab.exec('client', [
      ...pre,
      'iperf3',
      '-c',
      target,
      '-C',
      'cubic',
      '-J',
      ...extra,
    ]);
    return JSON.parse(stdout) as {
      intervals: Interval[];
      end: { sum_received: { bits_per_second: number } };
    };
  } finally {
    await stop(server);
  }
}

async function withFault<T>(kind: 'stall' | 'down', run: Promise<T>): Promise<T> {
  const timer = new Promise<void>((r) => setTimeout(r, FAULT_AFTER_MS));
  await timer;
  await lab.fault('pa', kind, undefined, kind === 'down' ? { side: 'a' } : {});
  try {
    return await run;
  } finally {
    await lab.fault('pa', 'up');
  }
}

async function tunnelUp(mode: string) {
  const s = generateKeyPair();
  const c = generateKeyPair();
  writeFileSync(join(dir, 's.key'), formatKey(s.privateKey), { mode: 0o600 });
  writeFileSync(join(dir, 'c.key'), formatKey(c.privateKey), { mode: 0o600 });
  const srv = await start(
    'server',
    [
      process.execPath,
      CLI,
      'tunnel',
      'serve',
      '--name',
      'bsrv',
      '--key',
      join(dir, 's.key'),
      '--listen',
      `${SERVER_IP}:51820`,
      '--address',
      `${TUNNEL_SERVER}/24`,
      '--peer',
      `${formatKey(c.publicKey)}=10.98.0.2`,
    ],
    '"ready"',
  );
  const cli = await start(
    'client',
    [
      process.execPath,
      CLI,
      'tunnel',
      'up',
      '--name',
      'bcli',
      '--key',
      join(dir, 'c.key'),
      '--server',
      `${SERVER_IP}:51820`,
      '--server-key',
      formatKey(s.publicKey),
      '--address',
      '10.98.0.2/24',
      '--uplink',
      'pa,weight=18000',
      '--uplink',
      'pb,weight=7200',
      '--route',
      `${TUNNEL_SERVER}/32`,
      '--mode',
      mode,
    ],
    '"ready"',
  );
  // Ready: a session, both paths up, and in best mode the policy back on pa (the faster).
  const ready = async () => {
    const end = Date.now() + 30_000;
    for (;;) {
      const st = (await askControl('bcli', { op: 'status' }).catch(() => undefined)) as
        { session: unknown; active: string | null; paths: { state: string }[] } | undefined;
      if (
        st?.session &&
        st.paths.every((p) => p.state === 'up') &&
        (mode !== 'best' || st.active === 'pa')
      )
        return;
      if (Date.now() > end) throw new Error('tunnel not ready in 30 s');
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await ready();
  return {
    ready,
    rxBytes: async () =>
      ((await askControl('bcli', { op: 'status' })) as { paths: { rxBytes: number }[] }).paths.map(
        (p) => p.rxBytes,
      ),
    mode: (m: string, pin?: string) =>
      askControl('bcli', { op: 'mode', mode: m as 'best', pin: pin ?? null }),
    counters: async () =>
      ((await askControl('bcli', { op: 'status' })) as { counters: Record<string, number> })
        .counters,
    stop: async () => {
      await stop(cli);
      await stop(srv);
    },
  };
}

const failover: { contender: string; fault: string; gapMs: number; mbit: number }[] = [];
const agg: Record<string, number> = {};
try {
  for (const mode of ONLY_AGGREGATE ? ['aggregate'] : ['best', 'aggregate']) {
    const t = await tunnelUp(mode);
    try {
      for (const fault of ['stall', 'down'] as const) {
        const r = await withFault(
          fault,
          iperf(TUNNEL_SERVER, ['-R', '-t', String(SECONDS), '-i', '0.1']),
        );
        failover.push({
          contender: `roam tunnel ${mode}`,
          fault,
          gapMs: gapAfter(r.intervals, FAULT_AFTER_MS / 1000) * 1000,
          mbit: r.end.sum_received.bits_per_second / 1e6,
        });
        await t.mode(mode); // the path came back: let the policy choose again
        await t.ready(); // and the next trial starts from the same state
      }
      if (mode === 'aggregate') {
        const goodput = async (extra: string[]) =>
          (await iperf(TUNNEL_SERVER, ['-R', '-t', String(SECONDS), '-O', '1', ...extra])).end
            .sum_received.bits_per_second / 1e6;
        await t.mode('best', 'pa');
        agg.pa = await goodput([]);
        await t.mode('best', 'pb');
        agg.pb = await goodput([]);
        await t.mode('aggregate');
        const before = await t.counters();
        const rx0 = await t.rxBytes();
        agg.one = await goodput([]);
        agg.eight = await goodput(['-P', '8']);
        const after = await t.counters();
        const rx1 = await t.rxBytes();
        agg.paShareOfBytes =
          ((rx1[0] ?? 0) - (rx0[0] ?? 0)) /
          ((rx1[0] ?? 0) + (rx1[1] ?? 0) - (rx0[0] ?? 0) - (rx0[1] ?? 0));
        agg.reordered = (after.reorderHeld ?? 0) - (before.reorderHeld ?? 0);
        agg.skipped = (after.reorderSkipped ?? 0) - (before.reorderSkipped ?? 0);
      }
    } finally {
      await t.stop();
    }
  }
  await mp.mptcpEndpoints([1]);
  for (const fault of ['stall', 'down'] as const) {
    const r = await withFault(
      fault,
      iperf(SERVER_IP, ['-R', '-t', String(SECONDS), '-i', '0.1'], true),
    );
    failover.push({
      contender: 'MPTCP (mptcpize iperf3)',
      fault,
      gapMs: gapAfter(r.intervals, FAULT_AFTER_MS / 1000) * 1000,
      mbit: r.end.sum_received.bits_per_second / 1e6,
    });
  }
  agg.mptcpOne =
    (await iperf(SERVER_IP, ['-R', '-t', String(SECONDS), '-O', '1'], true)).end.sum_received
      .bits_per_second / 1e6;
} finally {
  for (const c of children) await stop(c);
  await lab.down();
  rmSync(dir, { recursive: true, force: true });
}

const sum = (agg.pa ?? 0) + (agg.pb ?? 0);
const pct = (x: number | undefined) => `${(((x ?? 0) / sum) * 100).toFixed(1)}%`;
console.table(failover);
console.table(agg);
const md = [
  '## tunnel-paths',
  '',
  `Two paths, pa 20 Mbit/s RTT 20 ms and pb 8 Mbit/s RTT 80 ms (one-BDP queues), iperf3 TCP downloads (-R, cubic, ${SECONDS} s). The host is shared with other work (load average ${loadavg()[0]?.toFixed(1)} at the end of the run).`,
  '',
  `**Failover**: pa fails ${FAULT_AFTER_MS / 1000} s in and stays failed; the longest stretch of 100 ms intervals with under 10 KB received after it.`,
  '',
  '| contender | fault | gap at the application ms | Mbit/s over the run |',
  '|---|---|---|---|',
  ...failover.map(
    (f) => `| ${f.contender} | ${f.fault} | ${f.gapMs.toFixed(0)} | ${f.mbit.toFixed(2)} |`,
  ),
  '',
  '**Aggregate** (roam tunnel, aggregate mode; single paths measured through the tunnel pinned to each):',
  '',
  '| flows | Mbit/s | of the sum of the single paths |',
  '|---|---|---|',
  `| pa alone | ${agg.pa?.toFixed(2)} | |`,
  `| pb alone | ${agg.pb?.toFixed(2)} | |`,
  `| 1 TCP flow | ${agg.one?.toFixed(2)} | ${pct(agg.one)} |`,
  `| 8 TCP flows | ${agg.eight?.toFixed(2)} | ${pct(agg.eight)} |`,
  `| MPTCP, 1 flow (reference) | ${agg.mptcpOne?.toFixed(2)} | ${pct(agg.mptcpOne)} |`,
  '',
  `Reordering at the receiver (the mobile end) during the two aggregate runs: ${agg.reordered} packets held and put back in sequence, ${agg.skipped} gaps given up (lost packets). Goal: ≥ 95% of the sum; glorytun reports 93% over 6 links (glorytun#49).`,
  '',
  'Reproduce: `npm run bench -- tunnel-paths` (root).',
].join('\n');
publish(
  'tunnel-paths',
  {
    inputs: { seconds: SECONDS, paths: SETTING_1, faultAfterMs: FAULT_AFTER_MS },
    failover,
    aggregate: { ...agg, sumOfSingles: sum },
  },
  md,
);
