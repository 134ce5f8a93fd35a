import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { isRoamError } from '../../src/errors.js';
import { EtcdStore } from '../../src/names/store/etcd/etcd-store.js';
import { type LocalEtcdCluster, startLocalEtcd } from '../../src/names/store/etcd/local-cluster.js';
import type { StoreEvent } from '../../src/names/store/store.js';
import { must, openEtcdStore } from './etcd-fixture.js';
import { Waiter } from './helpers.js';
import { storeContract } from './store-contract.js';

let cluster: LocalEtcdCluster | undefined;
before(async () => {
  cluster = await startLocalEtcd({ members: 1 });
});
after(() => cluster?.stop());
const etcd = () => must(cluster, 'the etcd started before the tests');

storeContract('etcd', (t, opts) => openEtcdStore(t, etcd(), opts));

const entry = (name: string, version: number, owner = name) => ({
  name,
  owner,
  version,
  value: JSON.stringify({ name, version }),
});

test('etcd: two stores on one prefix share the id, the revisions and the watch', async (t) => {
  const a = await openEtcdStore(t, etcd());
  const b = await EtcdStore.open({ endpoints: etcd().endpoints, prefix: prefixOf(a) });
  t.after(() => b.close());
  assert.equal(a.id, b.id);
  assert.match(a.id, /^etcd-[0-9a-f]{16}-[0-9a-f]{16}$/);
  const seen: StoreEvent[] = [];
  const waiter = new Waiter();
  const handle = await a.watch(0, (e) => {
    seen.push(e);
    waiter.poke();
  });
  t.after(() => handle.close());
  assert.deepEqual(await b.putIfNewer(entry('x@y', 1), null), { ok: true, revision: 1 });
  assert.deepEqual(await b.putIfNewer(entry('d.x@y', 3, 'x@y'), null), { ok: true, revision: 2 });
  await waiter.until(() => seen.length === 2);
  assert.deepEqual(
    seen.map((e) => [e.type, e.revision, e.name, e.owner, e.version]),
    [
      ['put', 1, 'x@y', 'x@y', 1],
      ['put', 2, 'd.x@y', 'x@y', 3],
    ],
  );
  assert.deepEqual(await a.get('d.x@y'), { ...entry('d.x@y', 3, 'x@y'), revision: 2 });
  assert.equal(await a.revision(), 2);
  // Another prefix on the same cluster is another store.
  const other = await openEtcdStore(t, etcd());
  assert.notEqual(other.id, a.id);
  assert.equal(other.id.slice(0, 21), a.id.slice(0, 21), 'same cluster id');
  assert.deepEqual(await other.listByOwner('x@y'), []);
});

test('etcd: a prefix that holds something else is refused', async (t) => {
  const a = await openEtcdStore(t, etcd());
  await a.close();
  const { Etcd3 } = await import('etcd3');
  const raw = new Etcd3({ hosts: etcd().endpoints });
  t.after(() => raw.close());
  await raw.put('foreign/meta').value('not roam');
  await assert.rejects(
    EtcdStore.open({ endpoints: etcd().endpoints, prefix: 'foreign/' }),
    (e) => isRoamError(e, 'ROAM_NAMES_CONFIG') && /not a roam names store/.test(e.message),
  );
});

test('etcd: bad endpoints are configuration errors', async () => {
  for (const bad of ['127.0.0.1:2379', 'https://127.0.0.1:2379', 'http://127.0.0.1', 'nonsense'])
    await assert.rejects(
      EtcdStore.open({ endpoints: [bad] }),
      (e) => isRoamError(e, 'ROAM_NAMES_CONFIG') && e.message.includes('etcd endpoint'),
      bad,
    );
  await assert.rejects(EtcdStore.open({ endpoints: [] }), (e) =>
    isRoamError(e, 'ROAM_NAMES_CONFIG'),
  );
});

test('etcd: no etcd at the endpoint is ROAM_NAMES_STORE_UNAVAILABLE within the timeout', async () => {
  const port = await closedPort();
  const started = Date.now();
  await assert.rejects(
    EtcdStore.open({ endpoints: [`http://127.0.0.1:${port}`], timeoutMs: 800 }),
    (e) =>
      isRoamError(e, 'ROAM_NAMES_STORE_UNAVAILABLE') &&
      e.message.includes(`127.0.0.1:${port}`) &&
      e.message.includes('800 ms'),
  );
  // Bounded: the timeout plus scheduling slack on a loaded machine, not a hang.
  assert.ok(Date.now() - started < 10_000);
});

test('etcd: a store whose etcd dies answers ROAM_NAMES_STORE_UNAVAILABLE, and watches end', async (t) => {
  const own = await startLocalEtcd({ members: 1 });
  t.after(() => own.stop());
  const store = await EtcdStore.open({ endpoints: own.endpoints, timeoutMs: 600 });
  t.after(() => store.close());
  await store.putIfNewer(entry('a', 1));
  const broken: Error[] = [];
  const waiter = new Waiter();
  const handle = await store.watch(
    1,
    () => undefined,
    (err) => {
      broken.push(err);
      waiter.poke();
    },
  );
  t.after(() => handle.close());
  await must(own.members[0], 'member').kill();
  await assert.rejects(store.get('a'), (e) => isRoamError(e, 'ROAM_NAMES_STORE_UNAVAILABLE'));
  await assert.rejects(store.putIfNewer(entry('a', 2)), (e) =>
    isRoamError(e, 'ROAM_NAMES_STORE_UNAVAILABLE'),
  );
  await waiter.until(() => broken.length > 0);
  assert.ok(isRoamError(broken[0], 'ROAM_NAMES_STORE_UNAVAILABLE'));
});

function prefixOf(store: EtcdStore): string {
  return (store as unknown as { layout: { prefix: string } }).layout.prefix;
}

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

test('etcd: closing watches leaves the connection healthy (a closed watch is no member failure)', async (t) => {
  // A member pause longer than the timeout: a breaker opened by the closes would fail the
  // reads below with ROAM_NAMES_STORE_UNAVAILABLE.
  const store = await openEtcdStore(t, etcd(), { timeoutMs: 500, memberPauseMs: 10_000 });
  await store.putIfNewer(entry('c', 1));
  const handles = [];
  for (let i = 0; i < 4; i++) handles.push(await store.watch(0, () => undefined));
  for (const h of handles) h.close();
  for (let i = 0; i < 5; i++) assert.equal((await store.get('c'))?.version, 1);
});

test('etcd: a foreign value under the prefix is skipped by watches and refused by reads', async (t) => {
  const store = await openEtcdStore(t, etcd());
  const seen: string[] = [];
  const waiter = new Waiter();
  const handle = await store.watch(0, (e) => {
    seen.push(e.name);
    waiter.poke();
  });
  t.after(() => handle.close());
  const { Etcd3 } = await import('etcd3');
  const raw = new Etcd3({ hosts: etcd().endpoints });
  t.after(() => raw.close());
  await raw.put(`${prefixOf(store)}n/junk`).value('not an entry');
  await store.putIfNewer(entry('fine', 1));
  await waiter.until(() => seen.includes('fine'));
  assert.deepEqual(seen, ['fine']);
  await assert.rejects(store.get('junk'), (e) => isRoamError(e, 'ROAM_NAMES_DB'));
});

test('etcd: a snapshot of more names than one etcd transaction may hold reads them all at one revision', async (t) => {
  const store = await openEtcdStore(t, etcd());
  const names = Array.from({ length: 230 }, (_, i) => `n${i}`);
  for (const n of names) await store.putIfNewer(entry(n, 1));
  await store.putIfNewer(entry('d.o@x', 1, 'o@x'));
  const snap = await store.snapshot([...names, 'missing'], ['o@x', 'nobody@x']);
  assert.equal(snap.revision, 231);
  assert.deepEqual(snap.entries.map((e) => e.name).sort(), [...names, 'd.o@x'].sort());
  assert.deepEqual(await store.snapshot([], []), { revision: 231, entries: [] });
});
