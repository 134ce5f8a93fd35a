// Soft presence published in batches, on etcd: a device heartbeats to the server its name
// hashes to (a client given both servers); list-devices on the other server sees it online
// once a batch went out, and offline once it stopped heartbeating.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { NamesClient } from '../../src/names/client/client.js';
import { ManualClock } from '../../src/names/clock.js';
import { startNamesServer } from '../../src/names/http/server.js';
import { generateKeyPair } from '../../src/names/keys.js';
import { shardOf } from '../../src/names/presence-batch.js';
import { NameService } from '../../src/names/service.js';
import { EtcdStore } from '../../src/names/store/etcd/etcd-store.js';
import { must, withEtcd } from './etcd-fixture.js';
import { Waiter } from './helpers.js';

const OFFLINE_MS = 30_000;

test('presence on etcd: heartbeats land on one server; list-devices on another sees online, then offline', async (t: TestContext) => {
  const cluster = await withEtcd(t, 1);
  const prefix = `test/${randomUUID()}/`;
  const clock = new ManualClock(Date.now());
  const rounds = [0, 0];
  const published = [0, 0];
  const waiter = new Waiter();
  const servers = await Promise.all(
    [0, 1].map(async (i) => {
      const store = await EtcdStore.open({ endpoints: cluster.endpoints, prefix });
      const service = new NameService(store, {
        clock,
        presence: { offlineAfterMs: OFFLINE_MS },
        presenceBatch: {
          intervalMs: 50,
          onPublish: ({ batches }) => {
            rounds[i] = (rounds[i] ?? 0) + 1;
            published[i] = (published[i] ?? 0) + batches;
            waiter.poke();
          },
        },
      });
      const server = await startNamesServer(service, { port: 0, clock });
      t.after(async () => {
        await server.close();
        await store.close();
      });
      return server.url;
    }),
  );
  const urls = servers as [string, string];
  const userKey = generateKeyPair();
  const user = new NamesClient({ server: urls[0], key: userKey, clock });
  t.after(() => user.close());
  await user.publish({ name: 'bob@example.com' });
  const name = 'laptop.bob@example.com';
  const device = new NamesClient({
    server: urls[0],
    servers: urls,
    key: generateKeyPair(),
    userKey,
    clock,
  });
  t.after(() => device.close());
  await device.publish({ name });
  const home = shardOf(name, 2);
  const before = published[home] ?? 0;
  await device.heartbeat(name);

  const other = 1 - home;
  const on = (i: number) => new NamesClient({ server: must(urls[i], 'url'), clock });
  const listed = async (i: number) => {
    const c = on(i);
    try {
      return must(
        (await c.listDevices('bob@example.com')).find((d) => d.name === name),
        name,
      );
    } finally {
      c.close();
    }
  };
  assert.equal((await listed(home)).online, true, 'online where it heartbeats');
  await waiter.until(() => (published[home] ?? 0) > before);
  const seen = await listed(other);
  assert.equal(seen.online, true, 'online on the other server, from the batch');
  assert.equal(seen.lastSeen, clock.now());

  // Silent past the offline bound: the home server withdraws it in its next batch.
  const again = published[home] ?? 0;
  clock.advance(OFFLINE_MS + 1);
  await waiter.until(() => (published[home] ?? 0) > again);
  assert.equal((await listed(home)).online, false);
  assert.equal((await listed(other)).online, false, 'offline on the other server too');
  assert.equal(published[other], 0, 'the other server had nothing to publish');
});
