// The load generator of bench/names-scale, in its own process:
//   node names-presence.js '<json config>' | @FILE   prints one JSON line with the result.
// Modes, each one way of keeping presence for many devices:
//   puts        a heartbeat is an etcd put of the device's presence key (concurrent puts)
//   leases      a device holds an etcd lease; a heartbeat is a keepalive on a lease stream
//               (the leases are granted first: that rate is measured too)
//   batches     soft presence in the name servers, published in batches: puts of large
//               values (one per shard and interval), bytes/s
//   heartbeats  signed heartbeats over HTTP to name servers (the chosen design's ingress),
//               with signed address updates mixed in at the mobility rate
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { Etcd3 } from 'etcd3';
import { keyPairFromPem } from '../../src/names/keys.js';
import type { Delegation } from '../../src/names/record.js';
import { signHeartbeat, signRecord } from '../../src/names/sign.js';
import { monoMs } from './clock.js';
import { at, closedLoop, Latencies, type LoadResult } from './names-loop.js';

export interface PresenceDevice {
  name: string;
  pem: string;
  delegation: Delegation;
}

interface Timing {
  warmupMs: number;
  durationMs: number;
}

export type PresenceConfig =
  | ({ mode: 'puts'; endpoints: string[]; concurrency: number; keys: number } & Timing)
  | ({
      mode: 'leases';
      endpoints: string[];
      leases: number;
      streams: number;
      window: number;
    } & Timing)
  | ({ mode: 'batches'; endpoints: string[]; concurrency: number; valueBytes: number } & Timing)
  | ({
      mode: 'heartbeats';
      urls: string[];
      devices: PresenceDevice[];
      connections: number;
      /** One signed address update per this many heartbeats (the mobility rate's ratio). */
      heartbeatsPerUpdate: number;
    } & Timing);

export interface PresenceResult extends LoadResult {
  /** leases: the grant rate, before the keepalives. */
  grants?: LoadResult;
  /** heartbeats: the address updates mixed in. */
  updates?: LoadResult;
}

async function run(config: PresenceConfig): Promise<PresenceResult> {
  switch (config.mode) {
    case 'puts': {
      const client = new Etcd3({ hosts: config.endpoints });
      try {
        const value = Buffer.alloc(8);
        return await closedLoop(config.concurrency, config.warmupMs, config.durationMs, (i, n) => {
          value.writeDoubleBE(Date.now());
          return client
            .put(`bench/presence/p/d${(i + n * config.concurrency) % config.keys}`)
            .value(value)
            .then(() => undefined);
        });
      } finally {
        client.close();
      }
    }
    case 'batches': {
      const client = new Etcd3({ hosts: config.endpoints });
      try {
        const value = Buffer.alloc(config.valueBytes, 0x61);
        return await closedLoop(config.concurrency, config.warmupMs, config.durationMs, (i) =>
          client
            .put(`bench/presence/shard/${i}`)
            .value(value)
            .then(() => undefined),
        );
      } finally {
        client.close();
      }
    }
    case 'leases':
      return leases(config);
    case 'heartbeats':
      return heartbeats(config);
  }
}

/** Grants the leases, then keeps them alive over `streams` keepalive streams, windowed. */
async function leases(config: Extract<PresenceConfig, { mode: 'leases' }>) {
  const client = new Etcd3({ hosts: config.endpoints });
  try {
    const ids: string[] = [];
    const grantStart = monoMs();
    const grantLat = new Latencies();
    let next = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < config.leases) {
          next++;
          const t0 = monoMs();
          const res = await client.leaseClient.leaseGrant({ TTL: 300 });
          grantLat.add(monoMs() - t0);
          ids.push(res.ID);
        }
      }),
    );
    const grantSeconds = (monoMs() - grantStart) / 1000;
    const grants = grantLat.result(ids.length, grantSeconds, 0);
    const lat = new Latencies();
    const start = monoMs();
    const from = start + config.warmupMs;
    const until = from + config.durationMs;
    let ops = 0;
    let total = 0;
    await Promise.all(
      Array.from({ length: config.streams }, async (_, s) => {
        const stream = await client.leaseClient.leaseKeepAlive();
        const sent: number[] = [];
        let k = s;
        let done: () => void = () => undefined;
        const finished = new Promise<void>((resolve) => (done = resolve));
        const send = () => {
          const now = monoMs();
          if (now >= until) return false;
          sent.push(now);
          stream.write({ ID: at(ids, k) });
          k += config.streams;
          return true;
        };
        stream.on('data', () => {
          const t0 = sent.shift() ?? monoMs();
          const now = monoMs();
          total++;
          if (t0 >= from && t0 < until) {
            ops++;
            lat.add(now - t0);
          }
          if (!send() && sent.length === 0) done();
        });
        stream.on('error', () => done());
        for (let w = 0; w < config.window; w++) send();
        await finished;
        stream.end();
        stream.cancel();
      }),
    );
    return { ...lat.result(ops, config.durationMs / 1000, 0), totalOps: total, grants };
  } finally {
    client.close();
  }
}

/** A keep-alive POST or PUT with a JSON body; resolves on a 2xx. */
function send(agent: Agent, url: string, method: string, path: string, body: string) {
  return new Promise<void>((resolve, reject) => {
    const req = request(
      `${url}${path}`,
      {
        method,
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode && res.statusCode < 300
            ? resolve()
            : reject(new Error(`HTTP ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Devices in turn: each connection takes the next device and sends its heartbeat, or every
 * `heartbeatsPerUpdate`-th time a signed address update instead. Heartbeats are signed
 * before the timed window (a device signs its own; this process must not spend the cores
 * the server needs on signing), updates are signed when sent.
 */
async function heartbeats(config: Extract<PresenceConfig, { mode: 'heartbeats' }>) {
  const keys = config.devices.map((d) => keyPairFromPem(d.pem));
  const total = config.warmupMs + config.durationMs;
  // Enough signed heartbeats per device for the whole run at a generous rate.
  const perDevice =
    Math.ceil(((total / 1000) * 600 * config.connections) / config.devices.length) + 4;
  const t0 = Date.now();
  const signed = config.devices.map((d, i) =>
    Array.from({ length: perDevice }, (_, k) =>
      JSON.stringify(signHeartbeat(d.name, t0 + k + 1, at(keys, i))),
    ),
  );
  const used = new Array<number>(config.devices.length).fill(0);
  const versions = new Array<number>(config.devices.length).fill(0);
  const agents = config.urls.map(
    () => new Agent({ keepAlive: true, maxSockets: config.connections }),
  );
  const updateLat = new Latencies();
  let updates = 0;
  let updateErrors = 0;
  const from = monoMs() + config.warmupMs;
  let turn = 0;
  try {
    const r = await closedLoop(
      config.connections,
      config.warmupMs,
      config.durationMs,
      async (i) => {
        const d = turn++ % config.devices.length;
        const u = i % config.urls.length;
        const url = at(config.urls, u);
        const agent = at(agents, u);
        const device = at(config.devices, d);
        if (turn % config.heartbeatsPerUpdate === 0) {
          versions[d] = Math.max((versions[d] ?? 0) + 1, Date.now());
          const body = JSON.stringify(
            signRecord(
              {
                name: device.name,
                kind: 'device',
                key: at(keys, d).publicKey,
                delegation: device.delegation,
                addresses: [
                  {
                    ip: '198.51.100.30',
                    port: 1024 + (turn % 60000),
                    iface: 'cellular',
                    priority: 10,
                  },
                ],
                relays: [],
                attributes: {},
                version: versions[d] ?? 1,
                expiresAt: Date.now() + 3600_000,
              },
              at(keys, d),
            ),
          );
          const began = monoMs();
          try {
            await send(agent, url, 'PUT', `/v1/names/${encodeURIComponent(device.name)}`, body);
            if (began >= from) {
              updates++;
              updateLat.add(monoMs() - began);
            }
          } catch (err) {
            if (began >= from) updateErrors++;
            throw err;
          }
          return;
        }
        const k = used[d] ?? 0;
        used[d] = k + 1;
        const hb = signed[d]?.[k];
        if (hb === undefined) throw new Error('out of signed heartbeats');
        await send(agent, url, 'POST', '/v1/heartbeat', hb);
      },
    );
    return {
      ...r,
      updates: updateLat.result(updates, config.durationMs / 1000, updateErrors),
    };
  } finally {
    for (const a of agents) a.destroy();
  }
}

// `@FILE` reads the config from a file (a device list is too long for an argument).
const arg = process.argv[2] ?? '{}';
const config = JSON.parse(
  arg.startsWith('@') ? readFileSync(arg.slice(1), 'utf8') : arg,
) as PresenceConfig;
const cpu0 = process.cpuUsage();
const result = await run(config);
const cpu = process.cpuUsage(cpu0);
result.totalOps ??= result.ops;
result.loadCpuUsPerOp = Math.round((cpu.user + cpu.system) / Math.max(1, result.totalOps));
process.stdout.write(`${JSON.stringify(result)}\n`);
