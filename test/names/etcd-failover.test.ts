// Horizontal scale: two `roam names serve --store etcd` processes on one 3-node cluster,
// clients given both; one server is killed (SIGKILL) under load. No acknowledged update is
// lost, the writer and the reader fail over without an error, and the watcher resumes on the
// other server with every acknowledged version, in order, once.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as pause } from 'node:timers/promises';
import { isRoamError } from '../../src/errors.js';
import { NamesClient } from '../../src/names/client/client.js';
import { generateKeyPair } from '../../src/names/keys.js';
import type { LocalEtcdCluster } from '../../src/names/store/etcd/local-cluster.js';
import { packageRoot } from '../../src/package-root.js';
import { must, withEtcd } from './etcd-fixture.js';
import { Waiter } from './helpers.js';

const CLI = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');
const USER = 'bob@example.com';
const DEVICE = `laptop.${USER}`;

/** A name server process; `kill()` SIGKILLs it; stopped after the test in any case. */
async function serve(t: TestContext, cluster: LocalEtcdCluster, prefix: string) {
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
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  t.after(kill);
  let out = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-4000)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /^listening (http:\/\/127\.0\.0\.1:\d+)\n/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    void exited.then(() => reject(new Error(`serve exited before listening: ${err}`)));
  });
  return { url, kill };
}

test('two name servers, one killed under load: no acknowledged update lost; clients fail over', async (t) => {
  const cluster = await withEtcd(t, 3);
  const prefix = `test/${randomUUID()}/`;
  const [one, two] = await Promise.all([serve(t, cluster, prefix), serve(t, cluster, prefix)]);
  const servers = [one.url, two.url];
  const userKey = generateKeyPair();
  const user = new NamesClient({ server: one.url, servers, key: userKey });
  t.after(() => user.close());
  await user.publish({ name: USER });
  const writer = new NamesClient({ server: one.url, servers, key: generateKeyPair(), userKey });
  t.after(() => writer.close());
  await writer.publish({ name: DEVICE });

  const seen: number[] = [];
  const waiter = new Waiter();
  const watcher = new NamesClient({ server: one.url, servers });
  t.after(() => watcher.close());
  const resets: string[] = [];
  const w = watcher.watch(
    [DEVICE],
    (ch) => {
      seen.push(ch.record.version);
      waiter.poke();
    },
    { onError: () => undefined, onReset: (r) => resets.push(r), maxRetryMs: 300 },
  );
  t.after(() => w.close());
  await w.ready;

  const acked: number[] = [];
  const writeErrors: string[] = [];
  const lookups: { version?: number; code?: string }[] = [];
  const reader = new NamesClient({ server: one.url, servers });
  t.after(() => reader.close());
  const code = (err: unknown) => (isRoamError(err) ? err.code : String(err));
  let running = true;
  const writing = (async () => {
    for (let n = 0; running; n++) {
      try {
        const { record } = await writer.publish({
          name: DEVICE,
          addresses: [{ ip: '198.51.100.8', port: 2000 + n, iface: 'wifi', priority: 10 }],
        });
        acked.push(record.version);
      } catch (err) {
        writeErrors.push(code(err));
      }
      waiter.poke();
      await pause(120); // load shaping: under the server's per-key write budget
    }
  })();
  const reading = (async () => {
    while (running) {
      try {
        lookups.push({ version: (await reader.resolve(DEVICE)).version });
      } catch (err) {
        lookups.push({ code: code(err) });
      }
      waiter.poke();
      await pause(5); // load shaping
    }
  })();
  const moreAcks = (n: number) => {
    const target = acked.length + n;
    return waiter.until(() => acked.length >= target);
  };
  try {
    await moreAcks(8);
    await one.kill();
    await moreAcks(15);
    const before = lookups.length;
    await waiter.until(() => lookups.length >= before + 50);
  } finally {
    running = false;
    await Promise.all([writing, reading]);
  }

  assert.deepEqual(writeErrors, [], 'the writer failed over without an error');
  assert.deepEqual(
    lookups.filter((l) => l.code),
    [],
    'the reader failed over without an error',
  );
  const last = must(acked.at(-1), 'an acknowledged version');
  const check = new NamesClient({ server: two.url });
  t.after(() => check.close());
  assert.equal((await check.resolve(DEVICE, { linearizable: true })).version, last);
  await waiter.until(() => seen.includes(last));
  assert.deepEqual(
    seen,
    [...new Set(seen)].sort((a, b) => a - b),
    'the watcher saw versions in order, each once',
  );
  assert.deepEqual(
    acked.filter((v) => !seen.includes(v)),
    [],
    'the watcher saw every acknowledged version',
  );
  assert.deepEqual(resets, [], 'the watch resumed on the other server without a reset');
  t.diagnostic(
    `acked ${acked.length} updates, ${lookups.length} lookups, watch connects ${w.connects}, now on ${watcher.server}`,
  );
});
