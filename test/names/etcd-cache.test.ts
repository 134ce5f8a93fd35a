// The watch-fed lookup cache of name servers on etcd (src/names/store/etcd/change-feed.ts):
// a cached answer is never staler than the feed's bound after a leader kill, a compaction
// that outran a server's watch, a silent member, or a server restart; and a lookup that
// names a revision never gets an older record, on any server.
//
// Every check has the same shape: writers publish through server B and note when each
// version was acknowledged; readers on server A note when each lookup began and what it
// got. A lookup that began more than maxStalenessMs after an acknowledgement must return
// that version or a newer one (or fail with ROAM_NAMES_STORE_UNAVAILABLE); one that named a
// revision must return a version at least as new as the write of that revision.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test, type TestContext } from 'node:test';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldTurn, setTimeout as pause } from 'node:timers/promises';
import { Etcd3 } from 'etcd3';
import { isRoamError } from '../../src/errors.js';
import { NamesClient } from '../../src/names/client/client.js';
import { startNamesServer } from '../../src/names/http/server.js';
import { generateKeyPair } from '../../src/names/keys.js';
import { NameService } from '../../src/names/service.js';
import { EtcdStore } from '../../src/names/store/etcd/etcd-store.js';
import { type LocalEtcdCluster, startLocalEtcd } from '../../src/names/store/etcd/local-cluster.js';
import { must } from './etcd-fixture.js';
import { call, Waiter } from './helpers.js';
import { CutProxy } from './proxy.js';

const MAX_STALENESS_MS = 600;
const UNLIMITED = { perSecond: 1e9, burst: 1e9 };
const USER = 'bob@example.com';
const DEVICE = `laptop.${USER}`;

interface Node {
  store: EtcdStore;
  service: NameService;
  url: string;
  close(): Promise<void>;
}

/** A name server on an EtcdStore with its change feed; closed after the test. */
async function node(t: TestContext, endpoints: string[], prefix: string): Promise<Node> {
  const store = await EtcdStore.open({
    endpoints,
    prefix,
    timeoutMs: 1500,
    changeFeed: { maxStalenessMs: MAX_STALENESS_MS },
  });
  const service = new NameService(store);
  const server = await startNamesServer(service, {
    port: 0,
    readRate: UNLIMITED,
    writeRatePerSource: UNLIMITED,
    writeRatePerKey: UNLIMITED,
  });
  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= (async () => {
      await server.close();
      await store.close();
    })());
  t.after(close);
  return { store, service, url: server.url, close };
}

/** The user and its device, registered through `url`; the device's publishing client. */
async function registerDevice(t: TestContext, url: string): Promise<NamesClient> {
  const userKey = generateKeyPair();
  const user = new NamesClient({ server: url, key: userKey });
  t.after(() => user.close());
  await user.publish({ name: USER });
  const device = new NamesClient({ server: url, key: generateKeyPair(), userKey });
  t.after(() => device.close());
  await device.publish({ name: DEVICE, addresses: [address(0)] });
  return device;
}

const address = (n: number) => ({
  ip: '198.51.100.4',
  port: 1024 + (n % 60000),
  iface: 'wifi' as const,
  priority: 10,
});

interface Ack {
  at: number;
  version: number;
  revision: number;
}
interface Seen {
  began: number;
  floor: number;
  version?: number;
  code?: string;
}

/** Publishes DEVICE through `writer` until stopped, noting each acknowledgement. */
function writeLoop(writer: NamesClient, acks: Ack[], errors: string[]) {
  let running = true;
  const done = (async () => {
    for (let n = 1; running; n++) {
      try {
        const { record, result } = await writer.publish({ name: DEVICE, addresses: [address(n)] });
        acks.push({ at: performance.now(), version: record.version, revision: result.revision });
      } catch (err) {
        errors.push(isRoamError(err) ? err.code : String(err));
      }
      progress.poke();
      await pause(10); // load shaping: ~50 updates/s
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
    },
  };
}

/**
 * Looks DEVICE up on `service` until stopped, in two loops: one without a floor, one with
 * the writer's known revision as the floor (what a client that saw the writer's
 * acknowledgements sends).
 */
function readLoop(service: NameService, floorOf: () => number, seen: Seen[]) {
  let running = true;
  const loop = async (withFloor: boolean) => {
    while (running) {
      const floor = withFloor ? floorOf() : 0;
      const began = performance.now();
      try {
        const r = await service.lookup(DEVICE, floor ? { minRevision: floor } : {});
        seen.push({ began, floor, version: r.record.version });
      } catch (err) {
        seen.push({ began, floor, code: isRoamError(err) ? err.code : String(err) });
      }
      if (seen.length > 200_000) seen.splice(0, 100_000); // bounded
      progress.poke();
      await yieldTurn(); // a cached lookup settles in the same turn: let I/O run
    }
  };
  const done = Promise.all([loop(false), loop(true)]);
  return {
    stop: async () => {
      running = false;
      await done;
    },
  };
}

/** The rule of the file's header, over everything the loops noted. */
function assertNeverStale(acks: Ack[], seen: Seen[]): { checked: number; failed: number } {
  let checked = 0;
  let failed = 0;
  let ackIndex = -1;
  const sorted = [...seen].sort((a, b) => a.began - b.began);
  for (const s of sorted) {
    if (s.version === undefined) {
      failed++;
      assert.equal(s.code, 'ROAM_NAMES_STORE_UNAVAILABLE', 'a lookup fails only as unavailable');
      continue;
    }
    while ((acks[ackIndex + 1]?.at ?? Infinity) < s.began - MAX_STALENESS_MS) ackIndex++;
    const bound = acks[ackIndex];
    if (bound) {
      checked++;
      assert.ok(
        s.version >= bound.version,
        `a lookup ${Math.round(s.began - bound.at)} ms after version ${bound.version} was acknowledged returned ${s.version}`,
      );
    }
    if (s.floor) {
      const floorAck = acks.filter((a) => a.revision <= s.floor).at(-1);
      if (floorAck)
        assert.ok(
          s.version >= floorAck.version,
          `a lookup with minRevision ${s.floor} returned ${s.version}, older than ${floorAck.version}`,
        );
    }
  }
  return { checked, failed };
}

/** Poked by the loops after every write and lookup: conditions are checked as they progress. */
const progress = new Waiter();
const until = (check: () => boolean) => progress.until(check);

async function withLoad(
  t: TestContext,
  a: Node,
  b: Node,
  during: (progress: {
    acks: Ack[];
    seen: Seen[];
    more: (n: number) => Promise<void>;
  }) => Promise<void>,
) {
  const writer = await registerDevice(t, b.url);
  const acks: Ack[] = [];
  const errors: string[] = [];
  const seen: Seen[] = [];
  const writes = writeLoop(writer, acks, errors);
  const reads = readLoop(a.service, () => writer.knownRevision, seen);
  const more = (n: number) => {
    const target = acks.length + n;
    return until(() => acks.length >= target);
  };
  try {
    await more(10);
    await during({ acks, seen, more });
    // Then a stretch of normal load, long enough to check many lookups against the bound.
    const lookups = seen.length;
    await more(10);
    await until(() => seen.length >= lookups + 500);
    await more(MAX_STALENESS_MS / 20);
  } finally {
    await writes.stop();
    await reads.stop();
  }
  const { checked, failed } = assertNeverStale(acks, seen);
  const last = must(acks.at(-1), 'an acknowledged version');
  const final = await a.service.lookup(DEVICE, { linearizable: true });
  assert.equal(final.record.version, last.version, 'the store has the last acknowledged version');
  // And the cache of A, asked with the last revision, has it too.
  assert.equal(
    (await a.service.lookup(DEVICE, { minRevision: last.revision })).record.version,
    last.version,
  );
  return { acks: acks.length, writeErrors: errors, lookups: seen.length, checked, failed };
}

let cluster: LocalEtcdCluster;
before(async () => {
  cluster = await startLocalEtcd({ members: 3 });
});
after(() => cluster.stop());

test('etcd cache: after the leader is killed under load, no server answers from a stale cache', async (t) => {
  const prefix = `test/${randomUUID()}/`;
  const a = await node(t, cluster.endpoints, prefix);
  const b = await node(t, cluster.endpoints, prefix);
  const feed = must(a.store.etcdChangeFeed, 'a change feed');
  const r = await withLoad(t, a, b, async ({ more }) => {
    const leader = await cluster.leader();
    await leader.kill('SIGKILL');
    await more(20);
    await leader.restart();
  });
  t.diagnostic(
    `acked ${r.acks} updates (write errors: ${r.writeErrors.join(', ') || 'none'}); ` +
      `${r.lookups} lookups on the other server, ${r.checked} checked against the bound, ${r.failed} unavailable; ` +
      `feed reloads ${feed.reloads}, silent resumes ${feed.silentResumes}`,
  );
  assert.ok(r.checked > 0);
});

test('etcd cache: a server whose watch fell behind a compaction reloads, and never answers stale', async (t) => {
  const prefix = `test/${randomUUID()}/`;
  const member = must(cluster.members[0], 'a member');
  const proxy = await CutProxy.start(t, Number(new URL(member.clientUrl).port));
  const a = await node(t, [proxy.url], prefix);
  const b = await node(t, cluster.endpoints, prefix);
  const feed = must(a.store.etcdChangeFeed, 'a change feed');
  const etcd = new Etcd3({ hosts: cluster.endpoints });
  t.after(() => etcd.close());
  const r = await withLoad(t, a, b, async ({ more }) => {
    // A loses etcd (its connections cut, new ones held); B goes on writing; etcd compacts
    // its history past where A's watch stopped; A comes back.
    proxy.hold();
    proxy.cut();
    await more(10);
    const { header } = await etcd.get('anything').exec();
    await etcd.kv.compact({ revision: header.revision, physical: true });
    proxy.release();
    await until(() => feed.reloads > 0 && feed.gapless);
    await more(10);
  });
  t.diagnostic(
    `acked ${r.acks}; ${r.lookups} lookups on the reloaded server, ${r.checked} checked, ${r.failed} unavailable; reloads ${feed.reloads}`,
  );
  assert.equal(feed.reloads, 1, 'the feed started again once, from the current revision');
});

test('etcd cache: a member that goes silent (a partition, sockets open) stops the cache within its bound', async (t) => {
  const prefix = `test/${randomUUID()}/`;
  const member = must(cluster.members[1], 'a member');
  const proxy = await CutProxy.start(t, Number(new URL(member.clientUrl).port));
  const a = await node(t, [proxy.url], prefix);
  const b = await node(t, cluster.endpoints, prefix);
  const feed = must(a.store.etcdChangeFeed, 'a change feed');
  const r = await withLoad(t, a, b, async ({ more, seen }) => {
    proxy.freeze();
    await more(20);
    await until(() => feed.silentResumes > 0 && !feed.serving());
    await until(() => seen.some((s) => s.code !== undefined));
    proxy.thaw();
    await until(() => feed.serving());
  });
  t.diagnostic(
    `acked ${r.acks}; ${r.lookups} lookups, ${r.checked} checked, ${r.failed} unavailable; silent resumes ${feed.silentResumes}, reloads ${feed.reloads}`,
  );
  assert.ok(r.failed > 0, 'while silent, lookups went to etcd (and failed), not to the cache');
});

test('etcd cache: a restarted server starts current; lookups take minRevision and linearizable over HTTP', async (t) => {
  const prefix = `test/${randomUUID()}/`;
  const first = await node(t, cluster.endpoints, prefix);
  const b = await node(t, cluster.endpoints, prefix);
  const writer = await registerDevice(t, b.url);
  const v1 = (await first.service.lookup(DEVICE)).record.version;
  assert.equal((await first.service.lookup(DEVICE)).record.version, v1, 'cached');
  await first.close();
  const { record: r2, result } = await writer.publish({ name: DEVICE, addresses: [address(2)] });
  const again = await node(t, cluster.endpoints, prefix);
  assert.equal((await again.service.lookup(DEVICE)).record.version, r2.version);

  // Over HTTP: the floor, linearizable, and bad parameters.
  const path = `/v1/names/${encodeURIComponent(DEVICE)}`;
  for (const q of [`?minRevision=${result.revision}`, '?linearizable=true', ''])
    assert.equal(
      ((await call(again.url, 'GET', path + q)).body.record as { version: number }).version,
      r2.version,
      q,
    );
  for (const q of ['?minRevision=-1', '?minRevision=1e3', '?linearizable=yes', '?fresh=1']) {
    const bad = await call(again.url, 'GET', path + q);
    assert.equal(bad.status, 400, q);
    assert.equal(bad.body.code, 'ROAM_NAMES_INVALID', q);
  }
  // A floor beyond the store (another store's revision) is answered from etcd, not refused.
  const ahead = await call(again.url, 'GET', `${path}?minRevision=9999999`);
  assert.equal(ahead.status, 200);
});

test('etcd cache: a client that saw revision R never gets an older record from another server', async (t) => {
  const prefix = `test/${randomUUID()}/`;
  const a = await node(t, cluster.endpoints, prefix);
  const b = await node(t, cluster.endpoints, prefix);
  const writer = await registerDevice(t, b.url);
  // A reader on server A that shares the writer's knowledge (as one app would, or a user
  // told "I just moved"): it sends the writer's revision with every lookup.
  const reader = new NamesClient({ server: a.url });
  t.after(() => reader.close());
  await reader.resolve(DEVICE);
  let behind = 0;
  for (let i = 0; i < 200; i++) {
    const { record } = await writer.publish({ name: DEVICE, addresses: [address(i)] });
    reader.knownRevision = writer.knownRevision;
    if (must(a.store.changeFeed, 'feed').through < writer.knownRevision) behind++;
    // Straight HTTP, so the client's own never-go-back cache cannot hide an old answer.
    const res = await call(
      a.url,
      'GET',
      `/v1/names/${encodeURIComponent(DEVICE)}?minRevision=${reader.knownRevision}`,
    );
    assert.equal((res.body.record as { version: number }).version, record.version, `round ${i}`);
  }
  t.diagnostic(`server A's feed was behind the writer's revision at ${behind} of 200 lookups`);
});
