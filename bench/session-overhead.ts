// What one roam flowpath costs against the plain TCP socket under it: bulk transfer on
// loopback, roam session vs node:net, same write size, same total, same run, interleaved.
// Two layouts: both ends in this process (its CPU time is both ends'), and the receiver in a
// child process (CPU per GB is the sum of both processes). Also TLS: roam over TLS 1.3 against node:tls.
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { benchOptions, option } from './lib/options.js';
import { median } from './lib/stats.js';
import { alternatingRounds, pairedRatios } from './lib/trials.js';
import { publish } from './report.js';
import { KINDS, type Kind, makeTlsCredentials, send, startSink } from './workers/bulk.js';

const { values: opt } = benchOptions({
  name: 'session-overhead',
  summary:
    'bulk transfer on loopback through one roam flowpath against node:net and node:tls, same run, paired rounds (no root)',
  variables: {
    BENCH_BYTES: option.number(2 * 1024 ** 3, 'bytes per plain transfer (2 GiB)', {
      integer: true,
      min: 1,
    }),
    BENCH_TLS_BYTES: option.number(512 * 1024 ** 2, 'bytes per TLS transfer (512 MiB)', {
      integer: true,
      min: 1,
    }),
    BENCH_WRITE: option.number(64 * 1024, 'bytes per write', { integer: true, min: 1 }),
    BENCH_ROUNDS: option.number(9, 'rounds, each running every stream once in both layouts', {
      integer: true,
      min: 1,
    }),
  },
});
const TOTAL = opt.BENCH_BYTES;
const WRITE = opt.BENCH_WRITE;
const ROUNDS = opt.BENCH_ROUNDS;
const BULK = join(dirname(fileURLToPath(import.meta.url)), 'workers', 'bulk.js');
// Each pair: an anchor and the roam stream measured against it.
const PAIRS = [
  { anchor: 'net', roam: 'roam', label: 'plain TCP' },
  { anchor: 'tls', roam: 'roam-tls', label: 'TLS 1.3' },
] as const;
const TLS_TOTAL = opt.BENCH_TLS_BYTES;
const bytesFor = (kind: Kind) => (kind === 'tls' || kind === 'roam-tls' ? TLS_TOTAL : TOTAL);
makeTlsCredentials();

interface Sample {
  gbit: number;
  /** CPU seconds (user + system, both ends) per GB (10^9 bytes) carried. */
  cpuSecPerGB: number;
}

function sample(bytes: number, ms: number, cpuUs: number): Sample {
  return { gbit: (bytes * 8) / (ms / 1000) / 1e9, cpuSecPerGB: cpuUs / 1e6 / (bytes / 1e9) };
}

async function inProcess(kind: Kind): Promise<Sample> {
  const sink = await startSink(kind);
  try {
    const r = await send(kind, sink.port, bytesFor(kind), WRITE);
    return sample(r.bytes, r.ms, r.cpuUs);
  } finally {
    sink.close();
  }
}

/** A receiver in a child process, with its 'done' lines as they come. */
class ChildSink {
  readonly child: ChildProcess;
  private lines: Record<string, unknown>[] = [];
  private waiters: ((l: Record<string, unknown>) => void)[] = [];
  constructor(kind: Kind) {
    this.child = spawn(process.execPath, [BULK, 'sink', kind], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const l = JSON.parse(line) as Record<string, unknown>;
      const w = this.waiters.shift();
      if (w) w(l);
      else this.lines.push(l);
    });
  }
  next(): Promise<Record<string, unknown>> {
    const l = this.lines.shift();
    if (l) return Promise.resolve(l);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('sink child said nothing for 60 s')), 60_000);
      this.waiters.push((x) => {
        clearTimeout(timer);
        resolve(x);
      });
    });
  }
  stop(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** One receiver process per kind for the whole run, warmed up like this process. */
const children = new Map<Kind, { sink: ChildSink; port: number }>();

async function twoProcesses(kind: Kind): Promise<Sample> {
  let entry = children.get(kind);
  if (!entry) {
    const sink = new ChildSink(kind);
    const { port } = (await sink.next()) as { port: number };
    entry = { sink, port };
    children.set(kind, entry);
  }
  const r = await send(kind, entry.port, bytesFor(kind), WRITE);
  const done = (await entry.sink.next()) as { bytes: number; cpuUs: number };
  if (done.bytes !== r.bytes) throw new Error(`sink got ${done.bytes} of ${r.bytes} bytes`);
  return sample(r.bytes, r.ms, r.cpuUs + done.cpuUs);
}

type Layout = 'in-process' | 'two-processes';
const layouts: Record<Layout, (k: Kind) => Promise<Sample>> = {
  'in-process': inProcess,
  'two-processes': twoProcesses,
};

const LAYOUTS = Object.keys(layouts) as Layout[];
// One group per layout, its streams in KINDS order on even rounds and reversed on odd ones.
const runs = LAYOUTS.map((layout) => KINDS.map((kind) => ({ layout, kind })));
let measured: Map<{ layout: Layout; kind: Kind }, Sample[]>;
const started = performance.now();
try {
  // Warm-up (JIT, socket buffers) of both ends in both layouts, not counted.
  for (const layout of LAYOUTS) for (const kind of KINDS) await layouts[layout](kind);
  measured = await alternatingRounds(ROUNDS, runs, (r) => layouts[r.layout](r.kind));
} finally {
  for (const { sink } of children.values()) sink.stop();
}
const samples = Object.fromEntries(
  runs.map((group, i) => [
    LAYOUTS[i],
    Object.fromEntries(group.map((r) => [r.kind, measured.get(r) as Sample[]])),
  ]),
) as Record<Layout, Record<Kind, Sample[]>>;
const seconds = (performance.now() - started) / 1000;

interface PairSummary {
  anchor: Sample & { kind: Kind; samples: Sample[] };
  roam: Sample & { kind: Kind; samples: Sample[] };
  /** Median over the rounds of roam's figure ÷ its anchor's in the same round. */
  throughputRatio: number;
  cpuPerGBRatio: number;
  /** Lowest and highest of the rounds' throughput ratios: how much the host moved. */
  throughputRatioRange: [number, number];
}

function summarize(layout: Layout): Record<string, PairSummary> {
  const of = (kind: Kind) => ({
    kind,
    gbit: median(samples[layout][kind].map((s) => s.gbit)),
    cpuSecPerGB: median(samples[layout][kind].map((s) => s.cpuSecPerGB)),
    samples: samples[layout][kind],
  });
  return Object.fromEntries(
    PAIRS.map((p) => {
      const anchor = of(p.anchor);
      const roam = of(p.roam);
      // Each round runs the pair back to back: a ratio per round cancels the host's drift
      // between rounds (on a shared 2-vCPU VM it moves a single stream by ±30%).
      const paired = (f: (s: Sample) => number) =>
        pairedRatios(roam.samples.map(f), anchor.samples.map(f));
      const throughput = paired((s) => s.gbit);
      return [
        p.label,
        {
          anchor,
          roam,
          throughputRatio: throughput.median,
          cpuPerGBRatio: paired((s) => s.cpuSecPerGB).median,
          throughputRatioRange: throughput.range,
        },
      ];
    }),
  );
}
const summary: Record<Layout, Record<string, PairSummary>> = {
  'in-process': summarize('in-process'),
  'two-processes': summarize('two-processes'),
};

const result = {
  inputs: {
    bytesPerTransfer: TOTAL,
    tlsBytesPerTransfer: TLS_TOTAL,
    writeBytes: WRITE,
    rounds: ROUNDS,
    statistic:
      'rows: median of the rounds; ratios: median of the per-round ratios (each pair back to back, order alternating)',
    roamOptions: 'defaults (4 MiB buffers, 256 KiB frames), keepalive 1 s',
    loopback: '127.0.0.1',
    seconds,
  },
  goal: { throughputRatio: 0.9 },
  ...summary,
};

const f = (x: number, d = 2) => x.toFixed(d);
const rows = (Object.keys(layouts) as Layout[]).flatMap((layout) =>
  PAIRS.flatMap((p) => {
    const s = summary[layout][p.label] as PairSummary;
    return [
      `| ${layout} | ${p.anchor} (anchor) | ${f(s.anchor.gbit)} | ${f(s.anchor.cpuSecPerGB, 3)} | | |`,
      `| ${layout} | ${p.roam} | ${f(s.roam.gbit)} | ${f(s.roam.cpuSecPerGB, 3)} | **${f(s.throughputRatio)}** (${f(s.throughputRatioRange[0])}–${f(s.throughputRatioRange[1])}) | ${f(s.cpuPerGBRatio)} |`,
    ];
  }),
);
console.table(
  (Object.keys(layouts) as Layout[]).flatMap((layout) =>
    KINDS.map((kind) => ({
      layout,
      kind,
      'Gbit/s': f(median(samples[layout][kind].map((s) => s.gbit))),
      'CPU s/GB': f(median(samples[layout][kind].map((s) => s.cpuSecPerGB)), 3),
      'all Gbit/s': samples[layout][kind].map((s) => f(s.gbit)).join(' '),
    })),
  ),
);
for (const layout of Object.keys(layouts) as Layout[]) {
  const parts = PAIRS.map(
    (p) => `${p.roam}/${p.anchor} ${f((summary[layout][p.label] as PairSummary).throughputRatio)}`,
  );
  console.log(`ratio ${layout}: ${parts.join(', ')} (goal ≥ 0.90)`);
}

const md = [
  '## session-overhead',
  '',
  `One flowpath on loopback: a bulk transfer of ${(TOTAL / 2 ** 30).toFixed(2)} GiB in ${WRITE / 1024} KiB writes through a roam session, against plain \`node:net\` sockets in the same run (same writes, same total; ${ROUNDS} rounds, each running every stream once, roam right after or before its anchor). Figures per stream: median of the rounds. Ratios: median of the ${ROUNDS} per-round ratios, with their range (the host's own drift between rounds cancels out of a ratio taken back to back). "in-process": sender and receiver in one process, which is then also all the CPU; "two-processes": the receiver in a child process, CPU of both summed. Goal: roam/net throughput ≥ 0.90.`,
  '',
  '| layout | stream | Gbit/s | CPU s per GB | throughput roam/anchor (range) | CPU per GB roam/anchor |',
  '|---|---|---|---|---|---|',
  ...rows,
  '',
  `TLS rows: ${(TLS_TOTAL / 2 ** 20).toFixed(0)} MiB per transfer, TLS 1.3 (self-signed P-256 certificate, verified by CA), roam with its \`tls\` option against \`node:tls\` sockets.`,
  '',
  'Reproduce: `npm run bench -- session-overhead` (`BENCH_BYTES`, `BENCH_WRITE`, `BENCH_ROUNDS` to change the inputs).',
].join('\n');
publish('session-overhead', result, md);
