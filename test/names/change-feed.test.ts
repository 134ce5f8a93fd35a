// The change feed's rules without etcd: the feed runs on a MemoryStore's watch through a
// source the test controls (when the watch breaks, when progress is answered, what the
// clock says), and a NameService over a store that has only the feed (no onCommit).
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { RoamError } from '../../src/errors.js';
import { namesError } from '../../src/names/codes.js';
import { NameService } from '../../src/names/service.js';
import {
  EtcdChangeFeed,
  type FeedSource,
  type FeedWatch,
} from '../../src/names/store/etcd/change-feed.js';
import { MemoryStore } from '../../src/names/store/memory-store.js';
import type {
  ChangeFeed,
  FeedSignal,
  NameStore,
  PutRequest,
  WatchListener,
} from '../../src/names/store/store.js';
import { deviceRecord, userRecord } from './helpers.js';
import { generateKeyPair } from '../../src/names/keys.js';

const STALE_MS = 1000;

/** The watch under the feed: a MemoryStore watch, with the progress and failure levers. */
class Lever implements FeedSource {
  now = 0;
  asked = 0;
  resumed: string[] = [];
  opened = 0;
  private progress: (() => void) | undefined;
  private broken: ((err: RoamError) => void) | undefined;
  private handle: { close(): void } | undefined;

  constructor(readonly memory: MemoryStore) {}

  revision(): Promise<number> {
    return this.memory.revision();
  }

  async openWatch(
    from: number,
    listener: WatchListener,
    onBroken: (err: RoamError) => void,
    onProgress: () => void,
  ): Promise<FeedWatch> {
    this.opened++;
    this.progress = onProgress;
    this.broken = onBroken;
    this.handle = await this.memory.watch(from, listener);
    return {
      close: () => this.handle?.close(),
      requestProgress: () => {
        this.asked++;
        return true;
      },
      resume: (why) => this.resumed.push(why),
    };
  }

  pause(): Promise<void> {
    return Promise.resolve();
  }

  /** etcd answers one progress request. */
  answer(): void {
    this.progress?.();
  }

  /** The watch cannot resume (history compacted): the feed must reload. */
  breakWatch(): void {
    this.handle?.close();
    this.broken?.(namesError('ROAM_NAMES_COMPACTED', 'compacted'));
  }
}

/** A store other processes write too: it has the feed and no onCommit. */
function feedStore(memory: MemoryStore, feed: ChangeFeed) {
  const reads = { count: 0 };
  const store: NameStore = {
    id: memory.id,
    changeFeed: feed,
    get: (n) => (reads.count++, memory.get(n)),
    snapshot: (n, o) => (reads.count++, memory.snapshot(n, o)),
    putIfNewer: (req: PutRequest, rev?: number | null) => memory.putIfNewer(req, rev),
    delete: (n, rev) => memory.delete(n, rev),
    listByOwner: (o) => memory.listByOwner(o),
    revision: () => memory.revision(),
    watch: (from, l) => memory.watch(from, l),
    close: () => memory.close(),
  };
  return { store, reads };
}

async function rig(t: TestContext) {
  const memory = new MemoryStore();
  const lever = new Lever(memory);
  const feed = new EtcdChangeFeed(lever, { maxStalenessMs: STALE_MS, now: () => lever.now });
  t.after(() => feed.close());
  await feed.start();
  const signals: FeedSignal['type'][] = [];
  feed.subscribe((s) => signals.push(s.type));
  return { memory, lever, feed, signals };
}

test('change feed: live from the start revision; events advance `through` and wake waiters', async (t) => {
  const { memory, feed, signals } = await rig(t);
  assert.equal(feed.state, 'live');
  assert.ok(feed.serving());
  assert.equal(feed.through, 0);
  const waiting = feed.reach(2, 10_000);
  const put = (name: string, version: number) =>
    memory.putIfNewer({ name, owner: name, version, value: '{}' });
  await put('a', 1);
  assert.equal(feed.through, 1);
  await put('b', 1);
  assert.equal(await waiting, true);
  assert.equal(await feed.reach(2, 0), true, 'reached already: no wait');
  assert.deepEqual(signals, ['change', 'change']);
  // A revision that never comes: false after the wait, not a hang.
  assert.equal(await feed.reach(99, 5), false);
});

test('change feed: serving only while a progress answer is younger than the bound; a silent stream is resumed', async (t) => {
  const { lever, feed } = await rig(t);
  lever.now = STALE_MS + 1;
  assert.equal(feed.serving(), false, 'nothing confirmed since the start');
  feed.tick();
  assert.equal(lever.asked, 1);
  lever.answer();
  assert.equal(feed.serving(), true, 'confirmed as of the request just answered');
  lever.now += STALE_MS / 2;
  feed.tick();
  lever.now += STALE_MS + 1; // no answer to the second request
  assert.equal(feed.serving(), false);
  feed.tick(); // the oldest unanswered request is older than the bound: resume the stream
  assert.equal(feed.silentResumes, 1);
  assert.equal(lever.resumed.length, 1);
  feed.tick();
  lever.answer();
  assert.equal(feed.serving(), true);
});

test('change feed: a watch that cannot resume resets, reloads from the current revision, resets again', async (t) => {
  const { memory, lever, feed, signals } = await rig(t);
  await memory.putIfNewer({ name: 'a', owner: 'a', version: 1, value: '{}' });
  lever.breakWatch();
  assert.equal(feed.gapless, false);
  assert.equal(feed.serving(), false);
  // Written while the feed is between watches, after it read its new start revision: the
  // new watch replays it, and `through` counts it.
  await memory.putIfNewer({ name: 'a', owner: 'a', version: 2, value: '{}' });
  await new Promise<void>((resolve) => {
    const h = feed.subscribe((s) => {
      if (s.type === 'reset' && feed.gapless) {
        h.close();
        resolve();
      }
    });
  });
  assert.equal(feed.reloads, 1);
  assert.equal(lever.opened, 2);
  assert.equal(feed.through, 2);
  assert.deepEqual(signals, ['change', 'reset', 'change', 'reset']);
});

test('name service on a change feed: repeat lookups read nothing; a change from elsewhere is seen; a floor beyond the feed reads the store', async (t) => {
  const { memory, lever, feed } = await rig(t);
  const { store, reads } = feedStore(memory, feed);
  const now = Date.now();
  const service = new NameService(store, { floorWaitMs: 5 });
  const bob = generateKeyPair();
  const laptop = generateKeyPair();
  await service.register(userRecord('bob@example.com', bob, now, { version: 1 }));
  await service.register(deviceRecord('laptop.bob@example.com', laptop, bob, now, { version: 1 }));
  const name = 'laptop.bob@example.com';
  assert.equal((await service.lookup(name)).record.version, 1);
  const after = reads.count;
  assert.equal((await service.lookup(name)).record.version, 1);
  assert.equal(service.cachedLookupJson(name) !== undefined, true);
  assert.equal(reads.count, after, 'answered from the cache');

  // Another server writes (straight into the store: this service is not told): the feed's
  // watch tells, the cached answer goes, the next lookup reads the new version.
  const v2 = deviceRecord(name, laptop, bob, now, { version: 2 });
  const put = await memory.putIfNewer({
    name,
    owner: 'bob@example.com',
    version: 2,
    value: JSON.stringify(v2),
  });
  assert.ok(put.ok);
  assert.equal(service.cachedLookupJson(name), undefined);
  assert.equal((await service.lookup(name)).record.version, 2);

  // A floor the feed has not reached: wait, then read the store (which has it).
  const floor = feed.through + 5;
  const before = reads.count;
  assert.equal((await service.lookup(name, { minRevision: floor })).record.version, 2);
  assert.equal(reads.count, before + 1, 'read the store');
  assert.equal(service.cachedLookupJson(name, floor), undefined);

  // Not serving (no progress answer within the bound): lookups read the store.
  lever.now += STALE_MS + 1;
  const stale = reads.count;
  await service.lookup(name);
  assert.equal(reads.count, stale + 1);
  feed.tick();
  lever.answer();
  await service.lookup(name);
  assert.equal(reads.count, stale + 1, 'serving again once confirmed');

  // linearizable: always the store.
  await service.lookup(name, { linearizable: true });
  assert.equal(reads.count, stale + 2);
});
