import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isRoamError } from '../../src/errors.js';
import { ManualClock } from '../../src/names/clock.js';
import { generateKeyPair } from '../../src/names/keys.js';
import { LookupCache } from '../../src/names/lookup-cache.js';
import { NameService } from '../../src/names/service.js';
import { MemoryStore } from '../../src/names/store/memory-store.js';
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
    deleted: false,
    expiresAt: 1,
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
