// roam multipath over in-process emulated links (no root, no lab): download time of
// 64 KB .. 20 MB over paths A (20 Mbit/s, 20 ms RTT) and B (8 Mbit/s, 80 ms RTT) with the
// aggregate scheduler, against roam on the best single path (A) and the ideal (the sum of
// the two rates) in the same run; and the receiving application's longest gap when one path
// stalls or goes down mid-transfer. The lab benchmark against Linux MPTCP is
// bench/multipath-vs-mptcp (real namespaces, kernel TCP on every path).
import { once } from 'node:events';
import { EmulatedLink } from '../src/lab/emulated-link/index.js';
import { SCHEDULERS as SCHEDULER_NAMES, type SchedulerName } from '../src/multipath/scheduler.js';
import { connect } from '../src/session/client.js';
import { createServer } from '../src/session/server.js';
import type { Session } from '../src/session/session.js';
import { benchOptions, option } from './lib/options.js';
import { median } from './lib/stats.js';
import { publish } from './report.js';

interface PathSpec {
  name: string;
  rateBitsPerSec: number;
  delayMs: number;
}

const A: PathSpec = { name: 'A', rateBitsPerSec: 20e6, delayMs: 10 };
const B: PathSpec = { name: 'B', rateBitsPerSec: 8e6, delayMs: 40 };
const { values: opt } = benchOptions({
  name: 'multipath-emulated',
  summary:
    'roam aggregate over two in-process emulated links against roam on one path and the ideal; failover gaps (no root)',
  variables: {
    BENCH_SIZES: option.numbers([65536, 1048576, 10485760, 20971520], 'download sizes, bytes', {
      integer: true,
      min: 1,
    }),
    BENCH_SCHEDULERS: option.words<SchedulerName>(
      ['aggregate', 'best-path'],
      'schedulers of the failover rows',
      SCHEDULER_NAMES,
    ),
    BENCH_ROUNDS: option.number(3, 'downloads of each kind per size; failovers per row', {
      integer: true,
      min: 1,
    }),
    BENCH_DEBUG: option.flag(false, 'log each failover download as it goes'),
  },
});
const SIZES = opt.BENCH_SIZES;
const SCHEDULERS = opt.BENCH_SCHEDULERS;
const ROUNDS = opt.BENCH_ROUNDS;

interface Run {
  seconds: number;
  /** Longest wait of the receiving application after the fault, ms. */
  gapAfterFaultMs: number;
  /** Bytes sent in all over the bytes of the stream, minus one. */
  duplicates: number;
}

async function download(
  specs: PathSpec[],
  size: number,
  scheduler: SchedulerName,
  fault?: { kind: 'stall' | 'down'; path: number },
): Promise<Run> {
  let peer: Session | undefined;
  const server = createServer({ scheduler, keepaliveIntervalMs: 100, deadAfterMs: 5000 }, (s) => {
    peer = s;
    s.on('error', () => undefined);
  });
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  const links: EmulatedLink[] = [];
  try {
    for (const s of specs)
      links.push(
        await EmulatedLink.start({
          name: s.name,
          rateBitsPerSec: s.rateBitsPerSec,
          delayMs: s.delayMs,
          target: { host: '127.0.0.1', port },
        }),
      );
    server.setAdvertise(links.slice(1).map((l) => l.address));
    const first = links[0] as EmulatedLink;
    const client = connect({
      ...first.address,
      scheduler,
      keepaliveIntervalMs: 100,
      deadAfterMs: 5000,
      multipath: { statsIntervalMs: 50 },
    });
    client.on('error', () => undefined);
    try {
      while (client.paths.filter((p) => p.state === 'open').length < specs.length)
        await once(client, 'path-up');
      // Every path has an RTT before the clock starts (a warm session, as msocket measured).
      const measured = () => client.paths.every((p) => p.minRttMs !== undefined);
      if (!measured())
        await new Promise<void>((resolve) => {
          const check = () => {
            if (!measured()) return;
            client.off('path-stats', check);
            resolve();
          };
          client.on('path-stats', check);
        });
      const server1 = peer as Session;
      if (opt.BENCH_DEBUG) {
        for (const e of ['path-suspect', 'path-recovered', 'path-down', 'path-switch'])
          server1.on(e, (i: unknown) =>
            console.log(e, performance.now().toFixed(0), JSON.stringify(i)),
          );
      }
      const start = performance.now();
      let last = start;
      let faultAt: number | undefined;
      let gap = 0;
      let sent = 0;
      await new Promise<void>((resolve, reject) => {
        let got = 0;
        client.on('data', (d: Buffer) => {
          const now = performance.now();
          if (faultAt !== undefined) gap = Math.max(gap, now - last);
          last = now;
          got += d.length;
          if (fault && faultAt === undefined && got >= size * 0.3) {
            faultAt = now;
            const link = links[fault.path] as EmulatedLink;
            if (fault.kind === 'stall') link.stall();
            else void link.down();
          }
          if (got === size) {
            sent = server1.paths.reduce((s, p) => s + (p.sentBytes ?? 0), 0);
            resolve();
          }
        });
        client.once('error', reject);
        server1.end(Buffer.alloc(size, 7));
      });
      return {
        seconds: (performance.now() - start) / 1000,
        gapAfterFaultMs: gap,
        duplicates: sent / size - 1,
      };
    } finally {
      client.destroy();
      peer?.destroy();
    }
  } finally {
    await server.close();
    for (const l of links) await l.close();
  }
}

const ideal = (A.rateBitsPerSec + B.rateBitsPerSec) / 8;
const rows: Record<string, unknown>[] = [];
for (const size of SIZES) {
  const roam: number[] = [];
  const single: number[] = [];
  const dup: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const m = await download([A, B], size, 'aggregate');
    roam.push(m.seconds);
    dup.push(m.duplicates);
    single.push((await download([A], size, 'aggregate')).seconds);
  }
  const row = {
    size,
    roamSeconds: median(roam),
    singleSeconds: median(single),
    idealSeconds: size / ideal,
    ofIdeal: size / ideal / median(roam),
    vsSingle: median(single) / median(roam),
    duplicates: median(dup),
  };
  rows.push(row);
  console.log(JSON.stringify(row));
}
const failover: Record<string, unknown>[] = [];
for (const scheduler of SCHEDULERS) {
  for (const kind of ['stall', 'down'] as const) {
    const gaps: number[] = [];
    for (let r = 0; r < ROUNDS; r++)
      gaps.push(
        (await download([A, B], 10 * 1024 * 1024, scheduler, { kind, path: 0 })).gapAfterFaultMs,
      );
    const row = { scheduler, fault: kind, path: 'A', maxGapMs: Math.max(...gaps), gapsMs: gaps };
    failover.push(row);
    console.log(JSON.stringify(row));
  }
}
const fmt = (x: number, d = 2) => x.toFixed(d);
publish(
  'multipath-emulated',
  { paths: [A, B], rounds: ROUNDS, downloads: rows, failover },
  [
    '## multipath-emulated',
    '',
    'roam `aggregate` over two in-process emulated links, A (20 Mbit/s, 20 ms RTT) and B (8 Mbit/s, 80 ms RTT); anchors in the same run: roam on A alone, and the ideal (sum of the rates). Medians of ' +
      `${ROUNDS} runs.`,
    '',
    ...rows.map(
      (r) =>
        `- ${(r.size as number) / 1024} KiB: ${fmt(r.roamSeconds as number)} s, ${fmt(100 * (r.ofIdeal as number), 1)}% of the ideal, ${fmt(r.vsSingle as number)}× the single path A (${fmt(r.singleSeconds as number)} s), duplicates ${fmt(100 * (r.duplicates as number), 1)}%`,
    ),
    '',
    'Failover, 10 MiB, path A fails at 30%: longest gap of the receiving application (goal ≤ 500 ms after a stall, ≤ 200 ms after link down):',
    '',
    ...failover.map(
      (f) => `- ${f.scheduler as string}, ${f.fault as string}: ${fmt(f.maxGapMs as number, 0)} ms`,
    ),
  ].join('\n'),
);
process.exit(0);
