import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as pause } from 'node:timers/promises';
import { isRoamError } from '../../src/errors.js';
import { NamesClient } from '../../src/names/client/client.js';
import type { NameChange } from '../../src/names/client/watch.js';
import { generateKeyPair, type KeyPair } from '../../src/names/keys.js';
import type { LocalEtcdCluster } from '../../src/names/store/etcd/local-cluster.js';
import { packageRoot } from '../../src/package-root.js';
import { must, withEtcd } from './etcd-fixture.js';
import { Waiter } from './helpers.js';

const CLI = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');
const USER = 'bob@example.com';

/** A real `roam names serve --store etcd` process; stopped (SIGTERM, clean exit) after the test. */
async function serve(t: TestContext, cluster: LocalEtcdCluster, prefix: string): Promise<string> {
  const child = spawn(
    process.execPath,
    [
      CLI,
      'names',
      'serve',
      '--port',
      '0',
      '--store',
      'etcd',
      '--etcd-endpoints',
      cluster.endpoints.join(','),
      '--etcd-prefix',
      prefix,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ROAM_LOG_LEVEL: 'error' } },
  );
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.after(async () => {
    child.kill('SIGTERM');
    assert.equal(await exited, 0, 'the server exits cleanly on SIGTERM');
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-4000)));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /^listening (http:\/\/127\.0\.0\.1:\d+)\n/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    void exited.then((code) =>
      reject(new Error(`serve exited (${code}) before listening: ${err}`)),
    );
  });
}

interface Device {
  name: string;
  key: KeyPair;
}

/** The user and its devices, registered through `url`. */
async function register(t: TestContext, url: string, count: number) {
  const userKey = generateKeyPair();
  const user = new NamesClient({ server: url, key: userKey });
  t.after(() => user.close());
  await user.publish({ name: USER });
  const devices: Device[] = [];
  for (let i = 0; i < count; i++) {
    const d = { name: `d${i}.${USER}`, key: generateKeyPair() };
    const c = new NamesClient({ server: url, key: d.key, userKey });
    await c.publish({
      name: d.name,
      addresses: [{ ip: '192.0.2.1', port: 1000 + i, iface: 'wifi', priority: 10 }],
    });
    c.close();
    devices.push(d);
  }
  return devices;
}

/** Every version a watch delivered, per name, and a way to wait for one. */
function watchAll(t: TestContext, url: string, names: string[]) {
  const seen = new Map<string, number[]>();
  const waiter = new Waiter();
  const client = new NamesClient({ server: url });
  t.after(() => client.close());
  const w = client.watch(
    names,
    (ch: NameChange) => {
      const list = seen.get(ch.name) ?? [];
      list.push(ch.record.version);
      seen.set(ch.name, list);
      waiter.poke();
    },
    { onError: () => undefined },
  );
  t.after(() => w.close());
  const reached = (name: string, version: number) =>
    waiter.until(() => (seen.get(name) ?? []).some((v) => v >= version));
  return { seen, ready: w.ready, reached };
}

test('etcd cluster: a watcher on one name server sees every update published through another', async (t) => {
  const cluster = await withEtcd(t, 3);
  const prefix = `test/${randomUUID()}/`;
  const [one, two] = await Promise.all([serve(t, cluster, prefix), serve(t, cluster, prefix)]);
  if (!one || !two) throw new Error('two servers');
  const devices = await register(t, two, 2);
  const watch = watchAll(
    t,
    one,
    devices.map((d) => d.name),
  );
  await watch.ready;
  const acked = new Map<string, number[]>();
  for (const d of devices) {
    const c = new NamesClient({ server: two, key: d.key });
    t.after(() => c.close());
    for (let i = 0; i < 15; i++) {
      const { result } = await c.publish({
        name: d.name,
        addresses: [{ ip: '198.51.100.7', port: 2000 + i, iface: 'cellular', priority: 10 }],
      });
      acked.set(d.name, [...(acked.get(d.name) ?? []), result.version]);
    }
  }
  for (const d of devices) {
    const versions = must(acked.get(d.name), d.name);
    await watch.reached(d.name, must(versions.at(-1), 'a version'));
    // Every version, in order, once: the first seen is the registration (the snapshot).
    assert.deepEqual(watch.seen.get(d.name)?.slice(1), versions, d.name);
  }
  // And server one answers lookups of what server two wrote.
  const reader = new NamesClient({ server: one });
  t.after(() => reader.close());
  for (const d of devices)
    assert.equal((await reader.resolve(d.name)).version, acked.get(d.name)?.at(-1));
});

interface LoadStats {
  acked: Map<string, number[]>;
  writeErrors: { at: number; code: string }[];
  lookups: { at: number; ms: number; ok: boolean; code?: string }[];
}

test('etcd cluster: killing a follower, then the leader, loses no acknowledged update and lookups recover', async (t) => {
  const cluster = await withEtcd(t, 3);
  const prefix = `test/${randomUUID()}/`;
  const servers = await Promise.all([serve(t, cluster, prefix), serve(t, cluster, prefix)]);
  const server = (i: number) => must(servers[i % 2], 'server');
  const devices = await register(t, server(0), 4);
  const names = devices.map((d) => d.name);
  const watch = watchAll(t, server(1), names);
  await watch.ready;

  const stats: LoadStats = { acked: new Map(), writeErrors: [], lookups: [] };
  const progress = new Waiter();
  let running = true;
  const code = (err: unknown) => (isRoamError(err) ? err.code : String(err));

  // Each device publishes in turn through one of the servers (paced under the per-key rate
  // limit), while two readers look names up through both servers.
  const writers = devices.map(async (d, i) => {
    const c = new NamesClient({ server: server(i), key: d.key, timeoutMs: 8000 });
    try {
      for (let n = 0; running; n++) {
        try {
          const { result } = await c.publish({
            name: d.name,
            addresses: [
              { ip: '198.51.100.9', port: 3000 + (n % 1000), iface: 'wifi', priority: 10 },
            ],
          });
          stats.acked.set(d.name, [...(stats.acked.get(d.name) ?? []), result.version]);
        } catch (err) {
          stats.writeErrors.push({ at: Date.now(), code: code(err) });
        }
        progress.poke();
        await pause(150); // load shaping: ~7 updates/s per key, under the server's limit
      }
    } finally {
      c.close();
    }
  });
  const readers = servers.map(async (url, i) => {
    const c = new NamesClient({ server: url, timeoutMs: 8000 });
    try {
      for (let n = i; running; n++) {
        const began = Date.now();
        try {
          await c.resolve(must(names[n % names.length], 'name'));
          stats.lookups.push({ at: began, ms: Date.now() - began, ok: true });
        } catch (err) {
          stats.lookups.push({ at: began, ms: Date.now() - began, ok: false, code: code(err) });
        }
        progress.poke();
        await pause(5); // load shaping
      }
    } finally {
      c.close();
    }
  });
  const ackCount = () => [...stats.acked.values()].reduce((s, v) => s + v.length, 0);
  const moreAcks = async (n: number) => {
    const target = ackCount() + n;
    await progress.until(() => ackCount() >= target);
  };
  const okStreak = async (n: number) => {
    await progress.until(() => {
      const tail = stats.lookups.slice(-n);
      return tail.length === n && tail.every((l) => l.ok);
    });
  };

  try {
    await moreAcks(20);
    const leader = await cluster.leader();
    const follower = must(
      cluster.members.find((m) => m !== leader),
      'a follower',
    );
    const killedFollowerAt = Date.now();
    await follower.kill('SIGKILL');
    await moreAcks(30);
    await okStreak(40);
    await follower.restart();
    await moreAcks(10);

    const leader2 = await cluster.leader();
    const killedLeaderAt = Date.now();
    await leader2.kill('SIGKILL');
    await moreAcks(30);
    await okStreak(40);
    const recoveredAt = Date.now();
    // After recovery: another stretch of load with no errors at all.
    const lookupsBefore = stats.lookups.length;
    const errorsBefore = stats.writeErrors.length;
    await moreAcks(30);
    await progress.until(() => stats.lookups.length >= lookupsBefore + 200);
    const after = stats.lookups.slice(lookupsBefore);
    assert.deepEqual(
      after.filter((l) => !l.ok),
      [],
      'no lookup fails once recovered',
    );
    assert.deepEqual(stats.writeErrors.slice(errorsBefore), [], 'no write fails once recovered');

    const failed = stats.lookups.filter((l) => !l.ok);
    t.diagnostic(
      `acked ${ackCount()} updates; write errors ${stats.writeErrors.length} (${[...new Set(stats.writeErrors.map((e) => e.code))].join(', ')}); ` +
        `lookups ${stats.lookups.length}, failed ${failed.length} (${[...new Set(failed.map((l) => l.code))].join(', ')}), ` +
        `last failure ${(failed.at(-1)?.at ?? killedLeaderAt) - killedLeaderAt} ms after the leader was killed ` +
        `(follower killed ${killedLeaderAt - killedFollowerAt} ms before), recovered ${recoveredAt - killedLeaderAt} ms after; ` +
        `slowest lookup ${Math.max(...stats.lookups.map((l) => l.ms))} ms`,
    );
    // Failures only ever say the store is briefly unavailable: never a wrong answer.
    for (const l of failed) assert.equal(l.code, 'ROAM_NAMES_STORE_UNAVAILABLE');
    for (const e of stats.writeErrors)
      assert.ok(
        ['ROAM_NAMES_STORE_UNAVAILABLE', 'ROAM_NAMES_CONFLICT', 'ROAM_NAMES_STALE'].includes(
          e.code,
        ),
        e.code,
      );
  } finally {
    running = false;
    await Promise.all([...writers, ...readers]);
  }

  // Every acknowledged update is there, at its version or newer, through both servers, and
  // the watcher saw every acknowledged version, in order.
  for (const url of servers) {
    const c = new NamesClient({ server: url });
    try {
      for (const d of devices) {
        const last = must(stats.acked.get(d.name)?.at(-1), d.name);
        assert.ok((await c.resolve(d.name)).version >= last, `${d.name} on ${url}`);
      }
    } finally {
      c.close();
    }
  }
  for (const d of devices) {
    const versions = must(stats.acked.get(d.name), d.name);
    await watch.reached(d.name, must(versions.at(-1), 'a version'));
    const seen = must(watch.seen.get(d.name), d.name);
    assert.deepEqual(
      seen,
      [...seen].sort((a, b) => a - b),
      `${d.name}: in order`,
    );
    assert.equal(new Set(seen).size, seen.length, `${d.name}: each once`);
    const missing = versions.filter((v) => !seen.includes(v));
    assert.deepEqual(missing, [], `${d.name}: the watcher saw every acknowledged version`);
  }
});
