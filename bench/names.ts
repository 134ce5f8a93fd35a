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
// The same on etcd (a single-node etcd started by the benchmark), and the anchor in the same
// run: etcd's own get latency with the etcd3 client at the same concurrency.
// Goals (issue 5): embedded ≥ 20,000 lookups/s with p99 ≤ 5 ms; watch delivery p99 ≤ 20 ms.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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
import { publish } from './report.js';
import type { LoadConfig, LoadDevice, LoadResult } from './workers/names-load.js';

const LOAD = join(dirname(fileURLToPath(import.meta.url)), 'workers', 'names-load.js');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 1500);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const DEVICES = 64;
const UPDATERS = 16;
const WATCH_RATE = Number(process.env.BENCH_WATCH_RATE ?? 50);
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
  updates: LoadResult;
  watch: LoadResult;
}

/** One server on `store`: a user and DEVICES devices registered, then the three loads. */
async function scenario(store: NameStore, withLookups = true): Promise<Scenario> {
  const service = new NameService(store);
  const server = await startNamesServer(service, {
    port: 0,
    readRate: UNLIMITED,
    writeRatePerSource: UNLIMITED,
    writeRatePerKey: UNLIMITED,
  });
  try {
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
    const timing = { warmupMs: WARMUP_MS, durationMs: SECONDS * 1000 };
    const lookups = withLookups
      ? await load({
          mode: 'lookup',
          url: server.url,
          names: devices.map((d) => d.name),
          connections: CONNECTIONS,
          ...timing,
        })
      : undefined;
    const updates = await load({
      mode: 'update',
      url: server.url,
      devices: devices.slice(0, UPDATERS),
      ...timing,
    });
    const watch = await load({
      mode: 'watch',
      url: server.url,
      devices: devices.slice(UPDATERS, 2 * UPDATERS),
      perSecond: WATCH_RATE,
      durationMs: SECONDS * 1000,
    });
    return { lookups, updates, watch };
  } finally {
    await server.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'roam-bench-names-'));
let embedded: Scenario;
let fsynced: Scenario;
let onEtcd: Scenario;
let etcdGet: LoadResult;
const etcd = await startLocalEtcd({ members: 1 });
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
    fsynced = await scenario(full, false);
  } finally {
    await full.close();
  }
  const store = await EtcdStore.open({ endpoints: etcd.endpoints, prefix: 'bench/names/' });
  try {
    onEtcd = await scenario(store);
  } finally {
    await store.close();
  }
  // etcd is the server here: this process's CPU is not the anchor's.
  etcdGet = await runLoad({
    mode: 'etcd-get',
    endpoints: etcd.endpoints,
    key: 'bench/anchor',
    connections: CONNECTIONS,
    warmupMs: WARMUP_MS,
    durationMs: SECONDS * 1000,
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
const result = {
  config: {
    seconds: SECONDS,
    warmupMs: WARMUP_MS,
    connections: CONNECTIONS,
    devices: DEVICES,
    updaters: UPDATERS,
    watchRate: WATCH_RATE,
  },
  embedded,
  embeddedFsync: fsynced,
  etcd: onEtcd,
  anchor: { etcdGet },
  ratios: {
    etcdLookupP50OverEtcdGetP50: ratio(lookups(onEtcd).p50Ms, etcdGet.p50Ms),
    etcdLookupsPerSecOverEtcdGetsPerSec: ratio(lookups(onEtcd).perSecond, etcdGet.perSecond),
    embeddedLookupsPerSecOverEtcdGetsPerSec: ratio(lookups(embedded).perSecond, etcdGet.perSecond),
  },
  goals,
};
const verdict = (ok: boolean) => (ok ? 'met' : 'not met');
const serverUs = lookups(embedded).serverCpuUsPerOp ?? 0;
const ceiling = serverUs
  ? `At ${serverUs} µs of server CPU per lookup, one core answers at most ${Math.round(1e6 / serverUs).toLocaleString('en')} lookups/s (embedded store).`
  : '';
const markdown = `## names

One name server process; load from another process (${CONNECTIONS} keep-alive connections, closed loop, ${SECONDS} s after ${WARMUP_MS} ms warm-up; lookups from a lean HTTP/1.1 client on raw sockets, bench/workers/raw-get.ts, since node:http's client costs more CPU per request than the server does). Lookups are of device names (the answer holds the device's record and its user's); updates are signed PUTs, ${UPDATERS} devices each in sequence; watch latency is from sending a PUT (${WATCH_RATE}/s, paced) to the client library's watch callback, which verifies the record.

Embedded store (SQLite, WAL, synchronous=NORMAL, the default: an acknowledged write survives a crash of the server; lookups answered from the commit-invalidated cache):

${line('lookups', embedded.lookups, 'lookups')}
${line('updates', embedded.updates, 'updates')}
${line('watch delivery', embedded.watch, 'updates')}

Embedded store with synchronous=FULL (\`roam names serve --fsync\`: an fsync per acknowledged write, what the disk costs the two above):

${line('updates', fsynced.updates, 'updates')}
${line('watch delivery', fsynced.watch, 'updates')}

etcd store (single-node etcd 3.4 on loopback, started by the benchmark; a device lookup is one etcd transaction reading the device and its user):

${line('lookups', onEtcd.lookups, 'lookups')}
${line('updates', onEtcd.updates, 'updates')}
${line('watch delivery', onEtcd.watch, 'updates')}

Anchor, same run: etcd's own get (etcd3 client, linearizable, ${CONNECTIONS} concurrent):

${line('etcd get', etcdGet, 'gets')}

Ratios: a lookup through the name server on etcd takes ${result.ratios.etcdLookupP50OverEtcdGetP50}× an etcd get (p50) and runs at ${result.ratios.etcdLookupsPerSecOverEtcdGetsPerSec}× its rate; the embedded server answers ${result.ratios.embeddedLookupsPerSecOverEtcdGetsPerSec}× as many lookups per second as etcd answers gets.

CPU per operation is each process's user + system time over the whole run divided by the operations (warm-up included): it depends less than the rates on what else the machine runs (but contention still inflates it). For a paced watch run it includes the idle cost of the open connections. ${ceiling}

Goals (issue 5, embedded store): ≥ 20,000 lookups/s: ${verdict(goals.lookupsPerSecond)}; lookup p99 ≤ 5 ms: ${verdict(goals.lookupP99)}; watch delivery p99 ≤ 20 ms: ${verdict(goals.watchP99)}.
`;
publish('names', result, markdown);
process.stdout.write(markdown);
