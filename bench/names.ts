// roam names: how fast one name server answers, on the embedded SQLite store and on etcd.
//
// Load comes from another process (bench/workers/names-load.ts: keep-alive connections in a
// closed loop; lookups through the lean raw-socket client of raw-get.ts, whose CPU per
// request is below the server's), so the server's core is its own:
//   lookups     GET /v1/names/NAME of device names (each answer carries the device's record
//               and its user's), lookups/s and latency p50/p99
//   updates     signed PUTs, one connection per device, each device's updates in sequence
//   watch       paced signed PUTs and a watch (the client library, which verifies every
//               record) in the load process: latency from sending the PUT to the callback
// The same on a 3-node etcd cluster started by the benchmark: without the change feed (every
// lookup reads etcd), with it (lookups from the watch-fed cache), and with two name servers
// in processes of their own (lookups on both at once; watch on one, updates through the
// other). The anchor in the same run: etcd's own get with the etcd3 client, same concurrency.
// Goals (issue 5): embedded ≥ 20,000 lookups/s with p99 ≤ 5 ms; watch delivery p99 ≤ 20 ms.
// Goals (issue 17): the same per name server on etcd.
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { createInterface } from 'node:readline';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNamesServer } from '../src/names/http/server.js';
import { generateKeyPair, privateKeyPem } from '../src/names/keys.js';
import { NameService } from '../src/names/service.js';
import { makeDelegation, signRecord } from '../src/names/sign.js';
import { EtcdStore } from '../src/names/store/etcd/etcd-store.js';
import { startLocalEtcd } from '../src/names/store/etcd/local-cluster.js';
import { SqliteStore } from '../src/names/store/sqlite-store.js';
import type { NameStore } from '../src/names/store/store.js';
import { benchOptions, option } from './lib/options.js';
import { publish } from './report.js';
import type { LoadConfig, LoadDevice, LoadResult } from './workers/names-load.js';
import type { ServerConfig } from './workers/names-server.js';

const WORKERS = join(dirname(fileURLToPath(import.meta.url)), 'workers');
const LOAD = join(WORKERS, 'names-load.js');
const { values: opt } = benchOptions({
  name: 'names',
  summary:
    'names server lookups, updates and watch delivery: embedded SQLite, a 3-node etcd it starts (with and without the change feed, one and two servers), against etcd get',
  variables: {
    BENCH_SECONDS: option.number(5, 'seconds of each measured run', { integer: true, min: 1 }),
    BENCH_WARMUP_MS: option.number(1500, 'warm-up before each run, ms', { integer: true, min: 0 }),
    BENCH_CONNECTIONS: option.number(16, 'keep-alive connections of the load generator', {
      integer: true,
      min: 1,
    }),
    BENCH_WATCH_RATE: option.number(50, 'updates per second in the watch-delivery runs', {
      min: 1,
    }),
  },
});
const SECONDS = opt.BENCH_SECONDS;
const WARMUP_MS = opt.BENCH_WARMUP_MS;
const CONNECTIONS = opt.BENCH_CONNECTIONS;
const DEVICES = 64;
const UPDATERS = 16;
const WATCH_RATE = opt.BENCH_WATCH_RATE;
const UNLIMITED = { perSecond: 1e9, burst: 1e9 };

/** Runs a load process; adds this (the server's) process's CPU time per operation. */
async function load(config: LoadConfig): Promise<LoadResult> {
  const cpu0 = process.cpuUsage();
  const r = await runLoad(config);
  const cpu = process.cpuUsage(cpu0);
  const serverCpuUsPerOp = Math.round((cpu.user + cpu.system) / Math.max(1, r.totalOps ?? r.ops));
  return { ...r, serverCpuUsPerOp };
}

function runLoad(config: LoadConfig): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LOAD, JSON.stringify(config)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = out.trim().split('\n').at(-1);
      if (code === 0 && line) resolve(JSON.parse(line) as LoadResult);
      else reject(new Error(`names-load (${config.mode}) exited ${code}: ${out.slice(-500)}`));
    });
  });
}

interface Scenario {
  lookups: LoadResult | undefined;
  updates: LoadResult | undefined;
  watch: LoadResult;
}

/** A user and DEVICES devices, registered through `service`. */
async function registerDevices(service: NameService): Promise<LoadDevice[]> {
  const user = generateKeyPair();
  const now = Date.now();
  const base = { relays: [], attributes: {}, version: now, expiresAt: now + 3600_000 };
  await service.register(
    signRecord(
      { ...base, name: 'bench@example.com', kind: 'user', key: user.publicKey, addresses: [] },
      user,
    ),
  );
  const devices: LoadDevice[] = [];
  for (let i = 0; i < DEVICES; i++) {
    const key = generateKeyPair();
    const name = `d${i}.bench@example.com`;
    const delegation = makeDelegation(user, name, key.publicKey, now);
    await service.register(
      signRecord(
        {
          ...base,
          name,
          kind: 'device',
          key: key.publicKey,
          delegation,
          addresses: [{ ip: '192.0.2.10', port: 4000 + i, iface: 'wifi', priority: 10 }],
        },
        key,
      ),
    );
    devices.push({ name, pem: privateKeyPem(key), delegation });
  }
  return devices;
}

const timing = () => ({ warmupMs: WARMUP_MS, durationMs: SECONDS * 1000 });
const lookupLoad = (url: string, devices: LoadDevice[]): LoadConfig => ({
  mode: 'lookup',
  url,
  names: devices.map((d) => d.name),
  connections: CONNECTIONS,
  ...timing(),
});
const watchLoad = (url: string, devices: LoadDevice[], watchUrl = url): LoadConfig => ({
  mode: 'watch',
  url,
  watchUrl,
  devices: devices.slice(UPDATERS, 2 * UPDATERS),
  perSecond: WATCH_RATE,
  durationMs: SECONDS * 1000,
});

/** One server on `store` in this process: devices registered, then the loads asked for. */
async function scenario(
  store: NameStore,
  what: { lookups?: boolean; updates?: boolean } = {},
): Promise<Scenario> {
  const service = new NameService(store);
  const server = await startNamesServer(service, {
    port: 0,
    readRate: UNLIMITED,
    writeRatePerSource: UNLIMITED,
    writeRatePerKey: UNLIMITED,
  });
  try {
    const devices = await registerDevices(service);
    const lookups =
      what.lookups === false ? undefined : await load(lookupLoad(server.url, devices));
    const updates =
      what.updates === false
        ? undefined
        : await load({
            mode: 'update',
            url: server.url,
            devices: devices.slice(0, UPDATERS),
            ...timing(),
          });
    const watch = await load(watchLoad(server.url, devices));
    return { lookups, updates, watch };
  } finally {
    await server.close();
  }
}

/** A name server in a process of its own (bench/workers/names-server.ts). */
class ServerProcess {
  private constructor(
    private readonly child: ChildProcessByStdio<Writable, Readable, null>,
    private readonly lines: AsyncIterator<string>,
    readonly url: string,
  ) {}

  static async start(config: ServerConfig): Promise<ServerProcess> {
    const child = spawn(
      process.execPath,
      [join(WORKERS, 'names-server.js'), JSON.stringify(config)],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
        env: { ...process.env, ROAM_LOG_LEVEL: 'error' },
      },
    );
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const first = await lines.next();
    if (first.done) throw new Error('the names-server worker exited before listening');
    return new ServerProcess(child, lines, (JSON.parse(first.value) as { url: string }).url);
  }

  async cpuUs(): Promise<number> {
    this.child.stdin.write('cpu\n');
    const line = await this.lines.next();
    if (line.done) throw new Error('the names-server worker exited');
    return (JSON.parse(line.value) as { cpuUs: number }).cpuUs;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return; // exited already
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin.end('stop\n');
    await exited;
  }
}

/** Runs `config` against a server process, adding that process's CPU per operation. */
async function loadOn(server: ServerProcess, config: LoadConfig): Promise<LoadResult> {
  const cpu0 = await server.cpuUs();
  const r = await runLoad(config);
  const cpu = (await server.cpuUs()) - cpu0;
  return { ...r, serverCpuUsPerOp: Math.round(cpu / Math.max(1, r.totalOps ?? r.ops)) };
}

interface TwoServers {
  lookups: [LoadResult, LoadResult];
  /** Updates through server one, watched on server two: delivery across servers. */
  watchAcross: LoadResult;
}

/** Two server processes on one etcd prefix: lookups on both at once, then the watch across. */
async function twoServers(endpoints: string[], prefix: string): Promise<TwoServers> {
  const setup = await EtcdStore.open({ endpoints, prefix, changeFeed: false });
  let devices: LoadDevice[];
  try {
    devices = await registerDevices(new NameService(setup));
  } finally {
    await setup.close();
  }
  const servers = await Promise.all(
    [0, 1].map(() => ServerProcess.start({ endpoints, prefix, changeFeed: true })),
  );
  try {
    const [one, two] = servers as [ServerProcess, ServerProcess];
    const lookups = (await Promise.all([
      loadOn(one, lookupLoad(one.url, devices)),
      loadOn(two, lookupLoad(two.url, devices)),
    ])) as [LoadResult, LoadResult];
    const watchAcross = await loadOn(two, watchLoad(one.url, devices, two.url));
    return { lookups, watchAcross };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

const dir = mkdtempSync(join(tmpdir(), 'roam-bench-names-'));
let embedded: Scenario;
let fsynced: Scenario;
let uncached: Scenario;
let cached: Scenario;
let two: TwoServers;
let etcdGet: LoadResult;
const etcd = await startLocalEtcd({ members: 3 });
try {
  const sqlite = SqliteStore.open(join(dir, 'names.db'));
  try {
    embedded = await scenario(sqlite);
  } finally {
    await sqlite.close();
  }
  // The same store with an fsync per write (--fsync): what the disk costs updates and the watch.
  const full = SqliteStore.open(join(dir, 'full.db'), { synchronous: 'full' });
  try {
    fsynced = await scenario(full, { lookups: false });
  } finally {
    await full.close();
  }
  // etcd without the change feed: every lookup is an etcd transaction (before issue 17).
  const plain = await EtcdStore.open({
    endpoints: etcd.endpoints,
    prefix: 'bench/uncached/',
    changeFeed: false,
  });
  try {
    uncached = await scenario(plain, { updates: false });
  } finally {
    await plain.close();
  }
  const store = await EtcdStore.open({ endpoints: etcd.endpoints, prefix: 'bench/cached/' });
  try {
    cached = await scenario(store);
  } finally {
    await store.close();
  }
  two = await twoServers(etcd.endpoints, 'bench/two/');
  // etcd is the server here: this process's CPU is not the anchor's.
  etcdGet = await runLoad({
    mode: 'etcd-get',
    endpoints: etcd.endpoints,
    key: 'bench/anchor',
    connections: CONNECTIONS,
    ...timing(),
  });
} finally {
  await etcd.stop();
  rmSync(dir, { recursive: true, force: true });
}

const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
const line = (label: string, r: LoadResult | undefined, unit: string) =>
  r
    ? `- ${label}: ${r.perSecond.toLocaleString('en')} ${unit}/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, max ${r.maxMs} ms (${r.ops} in ${r.seconds} s, ${r.errors} errors); CPU per operation: ${r.serverCpuUsPerOp !== undefined ? `server ${r.serverCpuUsPerOp} µs, ` : ''}load generator ${r.loadCpuUsPerOp} µs`
    : `- ${label}: not measured`;
const lookups = (s: Scenario): LoadResult => {
  if (!s.lookups) throw new Error('lookups were not measured');
  return s.lookups;
};
const goals = {
  lookupsPerSecond: lookups(embedded).perSecond >= 20_000,
  lookupP99: lookups(embedded).p99Ms <= 5,
  watchP99: embedded.watch.p99Ms <= 20,
};
const etcdGoals = {
  lookupsPerSecond: lookups(cached).perSecond >= 20_000,
  lookupP99: lookups(cached).p99Ms <= 5,
  watchP99: cached.watch.p99Ms <= 20,
  watchAcrossP99: two.watchAcross.p99Ms <= 20,
  twoServersLookupP99: two.lookups.every((r) => r.p99Ms <= 5),
};
const load1 = (): string =>
  (readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ') || 'unknown').trim();
const result = {
  config: {
    seconds: SECONDS,
    warmupMs: WARMUP_MS,
    connections: CONNECTIONS,
    devices: DEVICES,
    updaters: UPDATERS,
    watchRate: WATCH_RATE,
    etcdMembers: 3,
  },
  loadAverageAfter: load1(),
  embedded,
  embeddedFsync: fsynced,
  etcdUncached: uncached,
  etcdCached: cached,
  etcdTwoServers: two,
  anchor: { etcdGet },
  ratios: {
    cachedLookupsPerSecOverEtcdGetsPerSec: ratio(lookups(cached).perSecond, etcdGet.perSecond),
    cachedLookupsPerSecOverEmbedded: ratio(lookups(cached).perSecond, lookups(embedded).perSecond),
    cachedLookupsPerSecOverUncached: ratio(lookups(cached).perSecond, lookups(uncached).perSecond),
    uncachedLookupsPerSecOverEtcdGetsPerSec: ratio(lookups(uncached).perSecond, etcdGet.perSecond),
    twoServersLookupsPerSecOverEtcdGetsPerSec: ratio(
      two.lookups[0].perSecond + two.lookups[1].perSecond,
      etcdGet.perSecond,
    ),
  },
  goals,
  etcdGoals,
};
const verdict = (ok: boolean) => (ok ? 'met' : 'not met');
const serverUs = lookups(embedded).serverCpuUsPerOp ?? 0;
const cachedUs = lookups(cached).serverCpuUsPerOp ?? 0;
const ceiling = serverUs
  ? `At ${serverUs} µs of server CPU per lookup, one core answers at most ${Math.round(1e6 / serverUs).toLocaleString('en')} lookups/s (embedded store)${cachedUs ? `; at ${cachedUs} µs, ${Math.round(1e6 / cachedUs).toLocaleString('en')} lookups/s (etcd, cached)` : ''}.`
  : '';
const markdown = `## names

One name server process; load from another process (${CONNECTIONS} keep-alive connections, closed loop, ${SECONDS} s after ${WARMUP_MS} ms warm-up; lookups from a lean HTTP/1.1 client on raw sockets, bench/workers/raw-get.ts, since node:http's client costs more CPU per request than the server does). Lookups are of device names (the answer holds the device's record and its user's); updates are signed PUTs, ${UPDATERS} devices each in sequence; watch latency is from sending a PUT (${WATCH_RATE}/s, paced) to the client library's watch callback, which verifies the record. Everything (3 etcd members, name servers, load generators) shares the machine's 2 cores; load average after the run: ${result.loadAverageAfter}.

Embedded store (SQLite, WAL, synchronous=NORMAL, the default: an acknowledged write survives a crash of the server; lookups answered from the commit-invalidated cache):

${line('lookups', embedded.lookups, 'lookups')}
${line('updates', embedded.updates, 'updates')}
${line('watch delivery', embedded.watch, 'updates')}

Embedded store with synchronous=FULL (\`roam names serve --fsync\`: an fsync per acknowledged write, what the disk costs the two above):

${line('updates', fsynced.updates, 'updates')}
${line('watch delivery', fsynced.watch, 'updates')}

etcd store, 3-node etcd 3.4 cluster on loopback started by the benchmark, without the change feed (\`changeFeed: false\`: a device lookup is one etcd transaction reading the device and its user):

${line('lookups', uncached.lookups, 'lookups')}
${line('watch delivery', uncached.watch, 'updates')}

etcd store, same cluster, with the change feed (the default: one etcd watch per server keeps its lookup cache current; docs/names-api.md, "The lookup cache on etcd"):

${line('lookups', cached.lookups, 'lookups')}
${line('updates', cached.updates, 'updates')}
${line('watch delivery', cached.watch, 'updates')}

Two name servers on the same cluster and prefix, each in its own process (bench/workers/names-server.ts), lookups on both at once (${CONNECTIONS} connections each); then updates through server one watched on server two:

${line('lookups, server one', two.lookups[0], 'lookups')}
${line('lookups, server two', two.lookups[1], 'lookups')}
${line('watch delivery across servers', two.watchAcross, 'updates')}

Anchor, same run: etcd's own get (etcd3 client, linearizable, ${CONNECTIONS} concurrent) on the same cluster:

${line('etcd get', etcdGet, 'gets')}

Ratios: with the change feed a name server on etcd answers ${result.ratios.cachedLookupsPerSecOverEtcdGetsPerSec}× as many lookups per second as etcd answers gets, ${result.ratios.cachedLookupsPerSecOverUncached}× as many as without it, and ${result.ratios.cachedLookupsPerSecOverEmbedded}× the embedded server's rate; without it, ${result.ratios.uncachedLookupsPerSecOverEtcdGetsPerSec}× etcd's. Two servers together: ${result.ratios.twoServersLookupsPerSecOverEtcdGetsPerSec}× etcd's gets (they share 2 cores with etcd and the load generators, so the sum is bounded by the machine, not by the servers).

CPU per operation is each process's user + system time over the whole run divided by the operations (warm-up included): it depends less than the rates on what else the machine runs (but contention still inflates it). For a paced watch run it includes the idle cost of the open connections. ${ceiling}

Goals (issue 5, embedded store): ≥ 20,000 lookups/s: ${verdict(goals.lookupsPerSecond)}; lookup p99 ≤ 5 ms: ${verdict(goals.lookupP99)}; watch delivery p99 ≤ 20 ms: ${verdict(goals.watchP99)}.
Goals (issue 17, one name server on etcd with the change feed): ≥ 20,000 lookups/s: ${verdict(etcdGoals.lookupsPerSecond)}; lookup p99 ≤ 5 ms: ${verdict(etcdGoals.lookupP99)}; watch delivery p99 ≤ 20 ms: ${verdict(etcdGoals.watchP99)} (across two servers: ${verdict(etcdGoals.watchAcrossP99)}); lookup p99 ≤ 5 ms with two servers loaded at once: ${verdict(etcdGoals.twoServersLookupP99)}.

Reproduce: \`npm run bench -- names\` (\`BENCH_SECONDS\`, \`BENCH_CONNECTIONS\`, \`BENCH_WATCH_RATE\` change the inputs).
`;
publish('names', result, markdown);
process.stdout.write(markdown);
