// roam names at a million devices: what a 3-node etcd on this machine sustains for each way
// of keeping presence, and the chosen design (soft presence in the name servers, records in
// etcd) driven at the largest fraction of a million devices two cores allow. The arithmetic
// that takes these figures to a million devices is in docs/names-scale.md.
//
// Load: a heartbeat per device per minute (TSMP's presence, docs/names-api.md) and an
// address update per device every 10 minutes (docs/names-scale.md says where that rate
// comes from). Rows, each against a 3-node etcd 3.4 cluster started here:
//   etcd puts         a heartbeat as an etcd put of the device's presence key
//   etcd leases       a lease per device, a heartbeat as a keepalive (and the grant rate)
//   etcd batches      64 KiB puts: soft presence published per shard and interval
//   name server       signed heartbeats and address updates over HTTP to one name server
//                     on etcd, in its own process, with SIM_DEVICES registered devices
// The anchor is the first row: etcd's own put rate in the same run.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyPair, privateKeyPem } from '../src/names/keys.js';
import { NameService } from '../src/names/service.js';
import { makeDelegation, signRecord } from '../src/names/sign.js';
import { EtcdStore } from '../src/names/store/etcd/etcd-store.js';
import { startLocalEtcd } from '../src/names/store/etcd/local-cluster.js';
import { benchOptions, option } from './lib/options.js';
import { publish } from './report.js';
import type { PresenceConfig, PresenceDevice, PresenceResult } from './workers/names-presence.js';

const WORKERS = join(dirname(fileURLToPath(import.meta.url)), 'workers');
const { values: opt } = benchOptions({
  name: 'names-scale',
  summary:
    'presence and address updates for a million devices, driven at the fraction two cores allow against a 3-node etcd it starts (etcd-server)',
  variables: {
    BENCH_SECONDS: option.number(5, 'seconds of each measured run', { integer: true, min: 1 }),
    BENCH_WARMUP_MS: option.number(1500, 'warm-up before each run, ms', { integer: true, min: 0 }),
    BENCH_DEVICES: option.number(5000, 'simulated devices driven at once', {
      integer: true,
      min: 1,
    }),
    BENCH_MOVE_S: option.number(600, 'seconds between two address changes of one device', {
      min: 1,
    }),
  },
});
const SECONDS = opt.BENCH_SECONDS;
const WARMUP_MS = opt.BENCH_WARMUP_MS;
const SIM_DEVICES = opt.BENCH_DEVICES;
const DEVICES = 1_000_000;
const HEARTBEAT_S = 60;
const MOVE_S = opt.BENCH_MOVE_S;
const PREFIX = 'bench/scale/';
/** The name server's presence batch interval here (5 s in a deployment, 1 s to see rounds). */
const BATCH_MS = 1000;
const timing = { warmupMs: WARMUP_MS, durationMs: SECONDS * 1000 };

const dir = mkdtempSync(join(tmpdir(), 'roam-bench-scale-'));

function runWorker(config: PresenceConfig): Promise<PresenceResult> {
  const file = join(dir, `${config.mode}.json`);
  writeFileSync(file, JSON.stringify(config));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(WORKERS, 'names-presence.js'), `@${file}`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = out.trim().split('\n').at(-1);
      if (code === 0 && line) resolve(JSON.parse(line) as PresenceResult);
      else reject(new Error(`names-presence (${config.mode}) exited ${code}: ${out.slice(-500)}`));
    });
  });
}

/** The user and SIM_DEVICES devices, registered straight into the store (32 at a time). */
async function registerDevices(store: EtcdStore): Promise<PresenceDevice[]> {
  const service = new NameService(store);
  const user = generateKeyPair();
  const now = Date.now();
  const base = { relays: [], attributes: {}, version: now, expiresAt: now + 3600_000 };
  await service.register(
    signRecord(
      { ...base, name: 'scale@example.com', kind: 'user', key: user.publicKey, addresses: [] },
      user,
    ),
  );
  const devices: PresenceDevice[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < SIM_DEVICES) {
        const i = next++;
        const key = generateKeyPair();
        const name = `d${i}.scale@example.com`;
        const delegation = makeDelegation(user, name, key.publicKey, now);
        await service.register(
          signRecord(
            {
              ...base,
              name,
              kind: 'device',
              key: key.publicKey,
              delegation,
              addresses: [{ ip: '192.0.2.20', port: 4000, iface: 'wifi', priority: 10 }],
            },
            key,
          ),
        );
        devices.push({ name, pem: privateKeyPem(key), delegation });
      }
    }),
  );
  return devices;
}

/** A name server process (bench/workers/names-server.ts) and its CPU counter. */
async function nameServer(endpoints: string[]) {
  const child = spawn(
    process.execPath,
    [
      join(WORKERS, 'names-server.js'),
      JSON.stringify({
        endpoints,
        prefix: PREFIX,
        changeFeed: true,
        presenceEntries: 2_000_000,
        presenceIntervalMs: BATCH_MS,
      }),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ROAM_LOG_LEVEL: 'error' } },
  );
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done) throw new Error('the names-server worker exited before listening');
  const url = (JSON.parse(first.value) as { url: string }).url;
  return {
    url,
    counters: async () => {
      child.stdin.write('cpu\n');
      const line = await lines.next();
      if (line.done) throw new Error('the names-server worker exited');
      return JSON.parse(line.value) as { cpuUs: number; batches: number; bytes: number };
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return; // exited already
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin.end('stop\n');
      await exited;
    },
  };
}

/** Looks every device up once (32 at a time), so the server's lookup cache holds them. */
async function prime(url: string, devices: PresenceDevice[]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < devices.length) {
        const d = devices[next++];
        if (!d) break;
        const res = await fetch(`${url}/v1/names/${encodeURIComponent(d.name)}`);
        if (!res.ok) throw new Error(`priming ${d.name}: HTTP ${res.status}`);
        await res.arrayBuffer();
      }
    }),
  );
}

const etcd = await startLocalEtcd({ members: 3 });
let puts: PresenceResult;
let leases: PresenceResult;
let batches: PresenceResult;
let heartbeats: PresenceResult;
let serverCpuUs: number;
let heartbeatsOnly: PresenceResult;
let batchesDuring: { batches: number; bytes: number };
let heartbeatsOnlyCpuUs: number;
let registerSeconds: number;
try {
  puts = await runWorker({
    mode: 'puts',
    endpoints: etcd.endpoints,
    concurrency: 256,
    keys: 100_000,
    ...timing,
  });
  leases = await runWorker({
    mode: 'leases',
    endpoints: etcd.endpoints,
    leases: 5000,
    streams: 4,
    window: 256,
    ...timing,
  });
  batches = await runWorker({
    mode: 'batches',
    endpoints: etcd.endpoints,
    concurrency: 16,
    valueBytes: 64 * 1024,
    ...timing,
  });
  const store = await EtcdStore.open({
    endpoints: etcd.endpoints,
    prefix: PREFIX,
    changeFeed: false,
  });
  let devices: PresenceDevice[];
  const began = Date.now();
  try {
    devices = await registerDevices(store);
  } finally {
    await store.close();
  }
  registerSeconds = (Date.now() - began) / 1000;
  const server = await nameServer(etcd.endpoints);
  try {
    // Steady state: a server has looked up every device of its shard once (a device's
    // heartbeats come every minute; a run of seconds would otherwise see only first ones).
    await prime(server.url, devices);
    const c0 = await server.counters();
    heartbeats = await runWorker({
      mode: 'heartbeats',
      urls: [server.url],
      devices,
      connections: 32,
      heartbeatsPerUpdate: MOVE_S / HEARTBEAT_S,
      ...timing,
    });
    const c1 = await server.counters();
    serverCpuUs = c1.cpuUs - c0.cpuUs;
    batchesDuring = { batches: c1.batches - c0.batches, bytes: c1.bytes - c0.bytes };
    // Heartbeats alone: what presence costs the server without the updates' etcd writes.
    const cpu1 = (await server.counters()).cpuUs;
    heartbeatsOnly = await runWorker({
      mode: 'heartbeats',
      urls: [server.url],
      devices,
      connections: 32,
      heartbeatsPerUpdate: Number.MAX_SAFE_INTEGER,
      ...timing,
    });
    heartbeatsOnlyCpuUs = (await server.counters()).cpuUs - cpu1;
  } finally {
    await server.stop();
  }
} finally {
  await etcd.stop();
  rmSync(dir, { recursive: true, force: true });
}

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const need = { heartbeatsPerSecond: DEVICES / HEARTBEAT_S, updatesPerSecond: DEVICES / MOVE_S };
const updates = heartbeats.updates;
const hbOps = heartbeats.ops - (updates?.ops ?? 0);
const hbPerSecond = Math.round(hbOps / SECONDS);
const serverOps = heartbeats.totalOps ?? heartbeats.ops;
// The server's CPU per request over the whole run (heartbeats and updates mixed at the
// mobility ratio): what the extrapolation divides a core by.
const serverUsPerRequest = Math.round(serverCpuUs / Math.max(1, serverOps));
const requestsPerDevicePerSecond = 1 / HEARTBEAT_S + 1 / MOVE_S;
const devicesPerCore = Math.round(1e6 / serverUsPerRequest / requestsPerDevicePerSecond);
const devicesAtMeasuredRate = Math.round(heartbeats.perSecond / requestsPerDevicePerSecond);
const heartbeatUs = Math.round(
  heartbeatsOnlyCpuUs / Math.max(1, heartbeatsOnly.totalOps ?? heartbeatsOnly.ops),
);
// What an update costs the server, from the mix: (mix total − its heartbeats × heartbeat
// cost) / its updates.
const mixUpdates = (updates?.ops ?? 0) * (serverOps / Math.max(1, heartbeats.ops));
const updateUs = Math.round(
  (serverCpuUs - (serverOps - mixUpdates) * heartbeatUs) / Math.max(1, mixUpdates),
);
const load1 = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const fraction = {
  puts: round(puts.perSecond / need.heartbeatsPerSecond, 3),
  leases: round(leases.perSecond / need.heartbeatsPerSecond, 3),
  nameServer: round(devicesAtMeasuredRate / DEVICES, 4),
};
const result = {
  config: {
    seconds: SECONDS,
    warmupMs: WARMUP_MS,
    devices: DEVICES,
    simulatedDevices: SIM_DEVICES,
    heartbeatIntervalS: HEARTBEAT_S,
    moveIntervalS: MOVE_S,
    etcdMembers: 3,
  },
  loadAverageAfter: load1,
  need,
  etcdPuts: puts,
  etcdLeases: leases,
  etcdBatches64KiB: batches,
  nameServer: {
    heartbeats: { ...heartbeats, updates: undefined, ops: hbOps, perSecond: hbPerSecond },
    updates,
    requestsPerSecond: heartbeats.perSecond,
    serverUsPerRequest,
    devicesPerCore,
    devicesAtMeasuredRate,
    heartbeatsOnly: { ...heartbeatsOnly, updates: undefined },
    serverUsPerHeartbeat: heartbeatUs,
    presenceBatches: {
      intervalMs: BATCH_MS,
      ...batchesDuring,
      perSecond: round(batchesDuring.batches / (SECONDS + WARMUP_MS / 1000), 1),
    },
    serverUsPerUpdate: updateUs,
    registerSeconds: round(registerSeconds, 1),
  },
  fractionOfAMillion: fraction,
};
const row = (label: string, r: PresenceResult | undefined, unit: string) =>
  r
    ? `- ${label}: ${r.perSecond.toLocaleString('en')} ${unit}/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms (${r.ops} in ${r.seconds} s, ${r.errors} errors)`
    : `- ${label}: not measured`;
const markdown = `## names-scale

Presence for a million devices (docs/names-scale.md has the design and the arithmetic): a heartbeat per device per ${HEARTBEAT_S} s is ${Math.round(need.heartbeatsPerSecond).toLocaleString('en')}/s, an address update per device every ${MOVE_S} s is ${Math.round(need.updatesPerSecond).toLocaleString('en')}/s. A 3-node etcd 3.4 cluster on loopback started by the benchmark; every process (3 etcd members, the name server, the load generator) shares the machine's 2 cores; load average after the run: ${load1}. ${SECONDS} s per row after ${WARMUP_MS} ms warm-up.

What the 3-node etcd sustains for each way of keeping presence:

${row('a heartbeat as an etcd put (anchor; 256 in flight)', puts, 'puts')}: ${fraction.puts} of a million devices' heartbeats
${row('lease grants (once per device and session; 64 in flight)', leases.grants, 'grants')}
${row('a heartbeat as a lease keepalive (5,000 leases, 4 streams, 256 in flight each)', leases, 'keepalives')}: ${fraction.leases} of a million devices' heartbeats
${row('soft presence published in batches: 64 KiB puts (16 in flight)', batches, 'batches')}, ${round((batches.perSecond * 64) / 1024, 1)} MiB/s

The chosen design (soft presence in the name servers, sharded by device; records in etcd): one name server on the same cluster, in its own process, ${SIM_DEVICES.toLocaleString('en')} registered devices (registered in ${round(registerSeconds, 1)} s), 32 keep-alive connections sending signed heartbeats with a signed address update every ${MOVE_S / HEARTBEAT_S}th request:

${row('heartbeats', result.nameServer.heartbeats, 'heartbeats')}
${row('address updates (etcd writes)', updates, 'updates')}
${row('heartbeats alone (no updates mixed in)', heartbeatsOnly, 'heartbeats')}
- presence batches the server wrote to etcd meanwhile (every ${BATCH_MS} ms, 256 shards; every device came online during the run, so most rounds changed every shard): ${batchesDuring.batches} batches, ${Math.round(batchesDuring.bytes / 1024)} KiB, ${round(batchesDuring.batches / (SECONDS + WARMUP_MS / 1000), 1)} writes/s
- server CPU per heartbeat alone: ${heartbeatUs} µs (one core: ${Math.round(1e6 / Math.max(1, heartbeatUs)).toLocaleString('en')} heartbeats/s); per address update, from the mix: ${updateUs} µs
- server CPU: ${serverUsPerRequest} µs per request at this mix, so one core takes the heartbeats and updates of ${devicesPerCore.toLocaleString('en')} devices; the measured rate (${heartbeats.perSecond.toLocaleString('en')} requests/s, sharing 2 cores with etcd and the load generator) is that of ${devicesAtMeasuredRate.toLocaleString('en')} devices, ${fraction.nameServer} of a million.

Reproduce: \`npm run bench -- names-scale\` (\`BENCH_SECONDS\`, \`BENCH_DEVICES\`, \`BENCH_MOVE_S\` change the inputs).
`;
publish('names-scale', result, markdown);
process.stdout.write(markdown);
