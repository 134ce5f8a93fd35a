import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isRoamError } from '../../src/errors.js';
import { ManualClock } from '../../src/names/clock.js';
import { generateKeyPair } from '../../src/names/keys.js';
import { LookupCache } from '../../src/names/lookup-cache.js';
import { NameService } from '../../src/names/service.js';
import { MemoryStore } from '../../src/names/store/memory-store.js';
import { SqliteStore } from '../../src/names/store/sqlite-store.js';
import type { NameStore } from '../../src/names/store/store.js';
import { deviceRecord, HOUR, userRecord } from './helpers.js';

test('lookup answers follow every new revision of the name and of its owner, and expire', async () => {
  const clock = new ManualClock();
  const service = new NameService(new MemoryStore(), { clock });
  const bob = generateKeyPair();
  const laptop = generateKeyPair();
  const now = clock.now();
  await service.register(userRecord('bob@example.com', bob, now));
  await service.register(deviceRecord('laptop.bob@example.com', laptop, bob, now));
  const first = await service.lookupJson('laptop.bob@example.com');
  assert.equal(await service.lookupJson('laptop.bob@example.com'), first, 'same text again');

  await service.update(
    'laptop.bob@example.com',
    deviceRecord('laptop.bob@example.com', laptop, bob, now, {
      version: 2,
      addresses: [{ ip: '198.51.100.1', port: 9, iface: 'cellular', priority: 1 }],
    }),
  );
  const second = await service.lookup('laptop.bob@example.com');
  assert.equal(second.record.version, 2);
  assert.equal(second.record.addresses[0]?.ip, '198.51.100.1');
  assert.equal(second.owner?.version, 1);

  // The owner's new version shows in the device's answer too.
  await service.update(
    'bob@example.com',
    userRecord('bob@example.com', bob, now, { version: 5, attributes: { display: 'Bob' } }),
  );
  const third = await service.lookup('laptop.bob@example.com');
  assert.equal(third.owner?.version, 5);
  assert.equal(third.owner?.attributes.display, 'Bob');

  // A cached answer still expires on time.
  clock.advance(HOUR + 1);
  await assert.rejects(
    service.lookupJson('laptop.bob@example.com'),
    (e) => isRoamError(e, 'ROAM_NAMES_NOT_FOUND') && /expired/.test(e.message),
  );
});

test('the lookup cache keeps at most its bound, dropping the oldest name', () => {
  const cache = new LookupCache(2);
  const answer = (revision: number) => ({
    revision,
    ownerRevision: 0,
    owner: 'x@example.com',
    deleted: false,
    expiresAt: 1,
    key: 'k',
    json: `{"revision":${revision}}`,
  });
  cache.set('a', answer(1));
  cache.set('b', answer(2));
  cache.set('c', answer(3));
  assert.equal(cache.size, 2);
  assert.equal(cache.get('a', 1, 0), undefined);
  assert.equal(cache.get('c', 3, 0)?.json, '{"revision":3}');
  assert.equal(cache.get('c', 4, 0), undefined, 'another revision is a miss');
  assert.equal(cache.get('c', 3, 1), undefined, 'another owner revision is a miss');
});

test('invalidating a user drops the answers of the names it owns; a read older than an invalidation is not cached', () => {
  const cache = new LookupCache(10);
  const answer = (owner: string, json: string) => ({
    revision: 1,
    ownerRevision: 1,
    owner,
    deleted: false,
    expiresAt: 1,
    key: 'k',
    json,
  });
  cache.set('bob@example.com', answer('bob@example.com', 'bob'));
  cache.set('laptop.bob@example.com', answer('bob@example.com', 'laptop'));
  cache.set('phone.bob@example.com', answer('bob@example.com', 'phone'));
  cache.set('amy@example.com', answer('amy@example.com', 'amy'));
  cache.invalidate('phone.bob@example.com');
  assert.equal(cache.peek('phone.bob@example.com'), undefined);
  assert.equal(cache.peek('laptop.bob@example.com')?.json, 'laptop');
  cache.invalidate('bob@example.com');
  assert.deepEqual(
    ['bob@example.com', 'laptop.bob@example.com', 'amy@example.com'].map(
      (n) => cache.peek(n)?.json,
    ),
    [undefined, undefined, 'amy'],
  );
  const before = cache.generation;
  cache.invalidate('amy@example.com');
  cache.set('amy@example.com', answer('amy@example.com', 'stale'), before);
  assert.equal(cache.peek('amy@example.com'), undefined, 'read before the change: not cached');
  cache.set('amy@example.com', answer('amy@example.com', 'fresh'), cache.generation);
  assert.equal(cache.peek('amy@example.com')?.json, 'fresh');
  assert.equal(cache.size, 1);
});

/**
 * Counts the reads that reach a store; `holdNextRead()` makes the next snapshot read at once
 * but answer only when the returned function is called (a read overtaken by a write).
 */
function countingReads(store: NameStore) {
  let reads = 0;
  let hold: Promise<void> | undefined;
  const counted = Object.create(store) as NameStore;
  counted.get = (name) => (reads++, store.get(name));
  counted.snapshot = async (names, owners) => {
    reads++;
    const held = hold;
    hold = undefined;
    const snap = await store.snapshot(names, owners);
    await held;
    return snap;
  };
  return {
    store: counted,
    reads: () => reads,
    holdNextRead: () => {
      let release = () => {};
      hold = new Promise<void>((resolve) => (release = resolve));
      return release;
    },
  };
}

for (const kind of ['memory', 'sqlite'] as const)
  test(`${kind} store: repeat lookups need no store read, and every write shows at once`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'roam-lookup-cache-'));
    const inner = kind === 'memory' ? new MemoryStore() : SqliteStore.open(join(dir, 'n.db'));
    t.after(async () => {
      await inner.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const { store, reads, holdNextRead } = countingReads(inner);
    const clock = new ManualClock();
    const service = new NameService(store, { clock });
    const bob = generateKeyPair();
    const laptop = generateKeyPair();
    const now = clock.now();
    await service.register(userRecord('bob@example.com', bob, now));
    await service.register(deviceRecord('laptop.bob@example.com', laptop, bob, now));
    const name = 'laptop.bob@example.com';
    const first = await service.lookup(name);
    const afterFirst = reads();
    for (let i = 0; i < 5; i++) assert.deepEqual(await service.lookup(name), first);
    assert.equal(reads(), afterFirst, 'answered from the cache');
    assert.equal(service.cachedLookupJson(name), JSON.stringify(first));

    // A device update and a user update each show in the very next lookup.
    await service.update(name, deviceRecord(name, laptop, bob, now, { version: 2 }));
    assert.equal(service.cachedLookupJson(name), undefined, 'the write invalidated the answer');
    assert.equal((await service.lookup(name)).record.version, 2);
    await service.update(
      'bob@example.com',
      userRecord('bob@example.com', bob, now, { version: 3 }),
    );
    assert.equal((await service.lookup(name)).owner?.version, 3);

    // A lookup whose read is overtaken by a write: what it read is not cached after the write.
    await service.update(name, deviceRecord(name, laptop, bob, now, { version: 4 }));
    const release = holdNextRead();
    const racing = service.lookup(name);
    await service.update(name, deviceRecord(name, laptop, bob, now, { version: 5 }));
    release();
    assert.equal((await racing).record.version, 4, 'read before the write');
    assert.equal((await service.lookup(name)).record.version, 5);

    // Deletion and expiry are seen through the cache too.
    await service.remove(
      name,
      deviceRecord(name, laptop, bob, now, { version: 6, deleted: true, addresses: [] }),
    );
    await assert.rejects(service.lookupJson(name), (e) => isRoamError(e, 'ROAM_NAMES_NOT_FOUND'));
    await service.lookup('bob@example.com');
    clock.advance(HOUR + 1);
    assert.throws(
      () => service.cachedLookupJson('bob@example.com'),
      (e) => isRoamError(e, 'ROAM_NAMES_NOT_FOUND') && /expired/.test(e.message),
    );
  });
