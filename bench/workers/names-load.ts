// The load generator of bench/names, in its own process so the server's CPU is its own:
//   node names-load.js '<json config>'   prints one JSON line with the result.
// Modes: lookup (GETs of names), update (signed PUTs), watch (paced PUTs and a client-library
// watch in this process, for update-to-watcher latency), etcd-get (the anchor: etcd3 gets).
import { Agent, request } from 'node:http';
import { Etcd3 } from 'etcd3';
import { NamesClient } from '../../src/names/client/client.js';
import { keyPairFromPem, type KeyPair } from '../../src/names/keys.js';
import type { Delegation, UnsignedRecord } from '../../src/names/record.js';
import { signRecord } from '../../src/names/sign.js';
import { at, closedLoop, Latencies, type LoadResult } from './names-loop.js';
import { monoMs } from './clock.js';
import { RawGetConnection } from './raw-get.js';

export type { LoadResult };

export interface LoadDevice {
  name: string;
  pem: string;
  delegation: Delegation;
}

export type LoadConfig =
  | {
      mode: 'lookup';
      url: string;
      names: string[];
      connections: number;
      warmupMs: number;
      durationMs: number;
    }
  | { mode: 'update'; url: string; devices: LoadDevice[]; warmupMs: number; durationMs: number }
  | {
      mode: 'watch';
      url: string;
      /** Where the watch is opened (default `url`): another server of the same store. */
      watchUrl?: string;
      devices: LoadDevice[];
      perSecond: number;
      durationMs: number;
    }
  | {
      mode: 'etcd-get';
      endpoints: string[];
      key: string;
      connections: number;
      warmupMs: number;
      durationMs: number;
    };

function httpCall(
  agent: Agent,
  url: string,
  method: string,
  path: string,
  body?: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = {};
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(body);
    }
    const req = request(`${url}${path}`, { method, agent, headers }, (res) => {
      res.resume();
      res.on('end', () =>
        res.statusCode && res.statusCode < 300
          ? resolve()
          : reject(new Error(`HTTP ${res.statusCode}`)),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

interface Signer {
  name: string;
  key: KeyPair;
  fields: UnsignedRecord;
  version: number;
}

function signers(devices: LoadDevice[]): Signer[] {
  return devices.map((d) => {
    const key = keyPairFromPem(d.pem);
    return {
      name: d.name,
      key,
      version: 0,
      fields: {
        name: d.name,
        kind: 'device',
        key: key.publicKey,
        delegation: d.delegation,
        addresses: [{ ip: '198.51.100.20', port: 4000, iface: 'wifi', priority: 10 }],
        relays: [],
        attributes: {},
        version: 0,
        expiresAt: Date.now() + 3600_000,
      },
    };
  });
}

/** A signed PUT body at a new version (wall-clock ms, or one above the last). */
function nextBody(s: Signer, port: number): { version: number; body: string } {
  s.version = Math.max(s.version + 1, Date.now());
  const record = signRecord(
    {
      ...s.fields,
      addresses: [
        { ip: '198.51.100.20', port: 1024 + (port % 60000), iface: 'wifi', priority: 10 },
      ],
      version: s.version,
    },
    s.key,
  );
  return { version: s.version, body: JSON.stringify(record) };
}

async function run(config: LoadConfig): Promise<LoadResult> {
  switch (config.mode) {
    case 'lookup': {
      // A lean keep-alive client (raw-get.ts): node:http's would cost more CPU than the server.
      const { hostname, host, port } = new URL(config.url);
      const requests = config.names.map((n) =>
        RawGetConnection.request(host, `/v1/names/${encodeURIComponent(n)}`),
      );
      const conns: RawGetConnection[] = [];
      try {
        for (let i = 0; i < config.connections; i++)
          conns.push(await RawGetConnection.open(hostname, Number(port)));
        return await closedLoop(config.connections, config.warmupMs, config.durationMs, (i, n) =>
          at(conns, i).get(at(requests, i + n * config.connections)),
        );
      } finally {
        for (const c of conns) c.close();
      }
    }
    case 'update': {
      // One connection per device: each device's updates are sequential, as a device's are.
      const agent = new Agent({ keepAlive: true, maxSockets: config.devices.length });
      const all = signers(config.devices);
      try {
        return await closedLoop(all.length, config.warmupMs, config.durationMs, (i, n) => {
          const s = at(all, i);
          const path = `/v1/names/${encodeURIComponent(s.name)}`;
          return httpCall(agent, config.url, 'PUT', path, nextBody(s, n).body);
        });
      } finally {
        agent.destroy();
      }
    }
    case 'watch':
      return watchLatency(config);
    case 'etcd-get': {
      const client = new Etcd3({ hosts: config.endpoints });
      try {
        await client.put(config.key).value('x'.repeat(600));
        return await closedLoop(
          config.connections,
          config.warmupMs,
          config.durationMs,
          async () => {
            await client.get(config.key).buffer();
          },
        );
      } finally {
        client.close();
      }
    }
  }
}

/**
 * Paced updates (`perSecond`, spread over the devices) and a watch of every device through
 * the client library, which verifies each record: latency is from sending the PUT to the
 * watcher's callback, both on this process's monotonic clock.
 */
async function watchLatency(config: Extract<LoadConfig, { mode: 'watch' }>): Promise<LoadResult> {
  const all = signers(config.devices);
  const sent = new Map<string, number>();
  const lat = new Latencies();
  const client = new NamesClient({ server: config.watchUrl ?? config.url });
  let received = 0;
  const w = client.watch(
    all.map((s) => s.name),
    (ch) => {
      const t0 = sent.get(`${ch.name} ${ch.record.version}`);
      if (t0 === undefined) return;
      sent.delete(`${ch.name} ${ch.record.version}`);
      lat.add(monoMs() - t0);
      received++;
      if (sent.size === 0) drained?.();
    },
  );
  let drained: (() => void) | undefined;
  await w.ready;
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const interval = 1000 / config.perSecond;
  const start = monoMs();
  let errors = 0;
  let ops = 0;
  const inflight = new Set<Promise<void>>();
  for (let n = 0; monoMs() - start < config.durationMs; n++) {
    const s = at(all, n);
    const { version, body } = nextBody(s, n);
    sent.set(`${s.name} ${version}`, monoMs());
    ops++;
    const p = httpCall(agent, config.url, 'PUT', `/v1/names/${encodeURIComponent(s.name)}`, body)
      .catch(() => {
        errors++;
        sent.delete(`${s.name} ${version}`);
      })
      .finally(() => inflight.delete(p));
    inflight.add(p);
    // Pacing: the next update is due at start + (n + 1) × interval.
    const due = start + (n + 1) * interval - monoMs();
    if (due > 0) await new Promise((resolve) => setTimeout(resolve, due));
  }
  await Promise.all(inflight);
  // The last events are on their way: wait for them, at most 2 s (then they count as lost).
  if (sent.size > 0) {
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      drained = resolve;
      timer = setTimeout(resolve, 2000);
    });
    clearTimeout(timer);
  }
  w.close();
  client.close();
  agent.destroy();
  const r = lat.result(received, config.durationMs / 1000, errors + sent.size);
  return { ...r, perSecond: Math.round(ops / (config.durationMs / 1000)) };
}

const config = JSON.parse(process.argv[2] ?? '{}') as LoadConfig;
const cpu0 = process.cpuUsage();
const result = await run(config);
const cpu = process.cpuUsage(cpu0);
result.totalOps ??= result.ops;
result.loadCpuUsPerOp = Math.round((cpu.user + cpu.system) / Math.max(1, result.totalOps));
process.stdout.write(`${JSON.stringify(result)}\n`);
