import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryStore } from '../../src/names/store/memory-store.js';
import { call, deviceRecord, startRig, userRecord } from './helpers.js';
import { CutProxy } from './proxy.js';
import { SseReader } from './sse-reader.js';

const BOB = 'bob@example.com';

test('watch: snapshot, sync, then each new version with its revision as the event id', async (t) => {
  const { url, clock, bob, store } = await startRig(t);
  const now = clock.now();
  await call(url, 'POST', '/v1/names', userRecord(BOB, bob, now, { version: 1 }));
  const r = new SseReader(t, `${url}/v1/watch?name=${BOB}&name=ghost@example.com`);
  await r.until(() => r.count('sync') === 1);
  assert.equal(r.status, 200);
  assert.deepEqual(
    r.events.map((e) => [e.event, e.id]),
    [
      ['put', undefined],
      ['sync', `${store.id}.1`],
    ],
  );
  await call(url, 'PUT', `/v1/names/${BOB}`, userRecord(BOB, bob, now, { version: 2 }));
  await call(url, 'POST', '/v1/names', userRecord('eve@example.com', bob, now)); // not watched
  await call(url, 'PUT', `/v1/names/${BOB}`, userRecord(BOB, bob, now, { version: 3 }));
  await r.until(() => r.versions().length === 3);
  assert.deepEqual(r.versions(), [1, 2, 3]);
  assert.deepEqual(
    r.events.slice(2).map((e) => e.id),
    [`${store.id}.2`, `${store.id}.4`],
  );
  const data = JSON.parse(r.events[3]?.data ?? '{}') as { revision: number; name: string };
  assert.deepEqual([data.revision, data.name], [4, BOB]);
});

test('watch: a dropped connection resumed with Last-Event-ID misses no version and repeats none', async (t) => {
  const { url, clock, bob } = await startRig(t);
  const proxy = await CutProxy.start(t, Number(new URL(url).port));
  const now = clock.now();
  let version = 1;
  const publish = () =>
    call(
      url,
      version === 1 ? 'POST' : 'PUT',
      version === 1 ? '/v1/names' : `/v1/names/${BOB}`,
      userRecord(BOB, bob, now, { version: version++ }),
    );
  await publish();
  const first = new SseReader(t, `${proxy.url}/v1/watch?name=${BOB}`);
  await first.until(() => first.count('sync') === 1);
  // A writer publishes versions 2..21 one after another; the watcher's connection is cut
  // while that goes on (after it saw version 6: later ones may be on the wire, half sent).
  const writer = (async () => {
    for (let i = 0; i < 20; i++) {
      await publish();
      await call(url, 'PUT', `/v1/names/${BOB}`, userRecord(BOB, bob, now, { version: 1 })); // stale
    }
  })();
  await first.until(() => first.versions().length >= 6);
  proxy.hold();
  proxy.cut();
  await first.until(() => first.ended);
  await writer;
  const seen = first.versions();
  assert.ok(seen.length < 21, `the cut came too late to test anything (${seen.length})`);
  t.diagnostic(`connection cut after ${seen.length} of 21 versions`);
  const lastEventId = first.parser.lastEventId;
  assert.ok(lastEventId);
  const second = new SseReader(t, `${proxy.url}/v1/watch?name=${BOB}`, {
    'last-event-id': lastEventId,
  });
  proxy.release();
  await second.until(() => second.versions().length > 0 && second.versions().at(-1) === 21);
  await publish(); // and live again after the catch-up
  await second.until(() => second.versions().at(-1) === 22);
  assert.deepEqual(
    [...seen, ...second.versions()],
    Array.from({ length: 22 }, (_, i) => i + 1),
  );
  assert.equal(second.count('reset'), 0);
  assert.equal(proxy.accepted, 2);
});

test('watch: an id from another store, or from compacted history, gets a reset and a fresh snapshot', async (t) => {
  const { url, clock, bob, store } = await startRig(t, {
    store: new MemoryStore({ historyLimit: 2 }),
  });
  const now = clock.now();
  await call(url, 'POST', '/v1/names', userRecord(BOB, bob, now, { version: 1 }));
  for (let v = 2; v <= 40; v++)
    await call(url, 'PUT', `/v1/names/${BOB}`, userRecord(BOB, bob, now, { version: v }));
  for (const id of ['0123-other-store.3', `${store.id}.1`]) {
    const r = new SseReader(t, `${url}/v1/watch?name=${BOB}`, { 'last-event-id': id });
    await r.until(() => r.count('sync') === 1);
    assert.deepEqual(
      r.events.map((e) => e.event),
      ['reset', 'put', 'sync'],
      id,
    );
    assert.deepEqual(r.versions(), [40]);
    r.close();
  }
});

test('watch by owner follows a user and all its devices', async (t) => {
  const { url, clock, bob, laptop } = await startRig(t);
  const now = clock.now();
  await call(url, 'POST', '/v1/names', userRecord(BOB, bob, now));
  const r = new SseReader(t, `${url}/v1/watch?owner=${BOB}`);
  await r.until(() => r.count('sync') === 1);
  await call(url, 'POST', '/v1/names', deviceRecord('laptop.bob@example.com', laptop, bob, now));
  await call(
    url,
    'DELETE',
    '/v1/names/laptop.bob@example.com',
    deviceRecord('laptop.bob@example.com', laptop, bob, now, {
      version: 2,
      addresses: [],
      deleted: true,
    }),
  );
  await r.until(() => r.count('delete') === 1);
  assert.deepEqual(
    r.events.map((e) => e.event),
    ['put', 'sync', 'put', 'delete'],
  );
});

test('watch limits: streams per address, names per watch; closing the server ends every stream', async (t) => {
  const { url, server } = await startRig(t, {
    server: { maxWatchesPerSource: 2, maxNamesPerWatch: 3 },
  });
  const a = new SseReader(t, `${url}/v1/watch?name=a@x.org`);
  const b = new SseReader(t, `${url}/v1/watch?name=b@x.org`);
  await a.until(() => a.count('sync') === 1);
  await b.until(() => b.count('sync') === 1);
  const third = await call(url, 'GET', '/v1/watch?name=c@x.org');
  assert.equal(third.status, 429);
  assert.equal(third.body.code, 'ROAM_NAMES_TOO_MANY_WATCHES');
  b.close();
  await b.until(() => b.ended);
  const many = await call(
    url,
    'GET',
    '/v1/watch?name=a@x.org&name=b@x.org&name=c@x.org&owner=d@x.org',
  );
  assert.match(String(many.body.message), /at most 3/);
  const c = new SseReader(t, `${url}/v1/watch?name=c@x.org`);
  await c.until(() => c.count('sync') === 1 || c.ended);
  assert.equal(c.status, 200, 'a closed watch frees its slot');
  await server.close();
  await a.until(() => a.ended);
  await c.until(() => c.ended);
  assert.ok(a.ended && c.ended);
});
