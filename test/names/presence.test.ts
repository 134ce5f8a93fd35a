import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isRoamError } from '../../src/errors.js';
import { generateKeyPair } from '../../src/names/keys.js';
import { PresenceTable } from '../../src/names/presence.js';
import { signHeartbeat } from '../../src/names/sign.js';
import { call, deviceRecord, startRig, userRecord } from './helpers.js';

test('presence table: online while beats arrive, offline after the timeout, ordered, bounded', () => {
  const p = new PresenceTable({ offlineAfterMs: 1000, maxSkewMs: 500, maxEntries: 2 });
  assert.deepEqual(p.state('a', 0), { online: false, lastSeen: undefined });
  p.beat('a', 100, 100);
  assert.deepEqual(p.state('a', 1099), { online: true, lastSeen: 100 });
  assert.deepEqual(p.state('a', 1100), { online: false, lastSeen: 100 });
  p.beat('a', 1200, 1200);
  assert.equal(p.state('a', 1200).online, true);
  assert.throws(
    () => p.beat('a', 1200, 1300),
    (e) => isRoamError(e, 'ROAM_NAMES_STALE'),
  );
  assert.throws(
    () => p.beat('a', 1199, 1300),
    (e) => isRoamError(e, 'ROAM_NAMES_STALE'),
  );
  assert.throws(
    () => p.beat('a', 2000, 1300),
    (e) => isRoamError(e, 'ROAM_NAMES_CLOCK_SKEW'),
  );
  p.beat('b', 1300, 1300);
  p.beat('c', 1301, 1301);
  assert.equal(p.state('a', 1301).lastSeen, undefined, 'the longest silent name was forgotten');
  assert.equal(p.state('b', 1301).online, true);
});

test('list-devices: a device heartbeats, goes offline when it stops, comes back', async (t) => {
  const { url, clock, bob, laptop } = await startRig(t, {
    service: { presence: { offlineAfterMs: 30_000 } },
  });
  const phone = generateKeyPair();
  const now = clock.now();
  await call(url, 'POST', '/v1/names', userRecord('bob@example.com', bob, now));
  await call(url, 'POST', '/v1/names', deviceRecord('laptop.bob@example.com', laptop, bob, now));
  await call(url, 'POST', '/v1/names', deviceRecord('phone.bob@example.com', phone, bob, now));
  const online = async () => {
    const res = await call(url, 'GET', '/v1/users/bob@example.com/devices');
    return (res.body.devices as { name: string; online: boolean }[]).map(
      (d) => `${d.name.split('.')[0]}:${d.online ? 'on' : 'off'}`,
    );
  };
  assert.deepEqual(await online(), ['laptop:off', 'phone:off']);

  const beat = await call(
    url,
    'POST',
    '/v1/heartbeat',
    signHeartbeat('laptop.bob@example.com', clock.now(), laptop),
  );
  assert.deepEqual(beat.body, {
    name: 'laptop.bob@example.com',
    online: true,
    offlineAfterMs: 30_000,
  });
  await call(
    url,
    'POST',
    '/v1/heartbeat',
    signHeartbeat('phone.bob@example.com', clock.now(), phone),
  );
  assert.deepEqual(await online(), ['laptop:on', 'phone:on']);
  clock.advance(20_000);
  await call(
    url,
    'POST',
    '/v1/heartbeat',
    signHeartbeat('phone.bob@example.com', clock.now(), phone),
  );
  clock.advance(10_000);
  assert.deepEqual(await online(), ['laptop:off', 'phone:on']);
  const back = await call(
    url,
    'POST',
    '/v1/heartbeat',
    signHeartbeat('laptop.bob@example.com', clock.now(), laptop),
  );
  assert.equal(back.status, 200);
  assert.deepEqual(await online(), ['laptop:on', 'phone:on']);
  // A device whose record expired is not online, heartbeat or not.
  clock.advance(3600_000);
  assert.deepEqual(await online(), ['laptop:off', 'phone:off']);
});

test('heartbeats: replays, other keys, skewed clocks and unknown names are refused', async (t) => {
  const { url, clock, bob, laptop } = await startRig(t);
  const now = clock.now();
  await call(url, 'POST', '/v1/names', userRecord('bob@example.com', bob, now));
  await call(url, 'POST', '/v1/names', deviceRecord('laptop.bob@example.com', laptop, bob, now));
  const hb = signHeartbeat('laptop.bob@example.com', now, laptop);
  assert.equal((await call(url, 'POST', '/v1/heartbeat', hb)).status, 200);
  const replay = await call(url, 'POST', '/v1/heartbeat', hb);
  assert.equal(replay.body.code, 'ROAM_NAMES_STALE');
  const other = await call(
    url,
    'POST',
    '/v1/heartbeat',
    signHeartbeat('laptop.bob@example.com', now + 1, generateKeyPair()),
  );
  assert.equal(other.status, 403);
  assert.equal(other.body.code, 'ROAM_NAMES_BAD_SIGNATURE');
  const skew = await call(
    url,
    'POST',
    '/v1/heartbeat',
    signHeartbeat('laptop.bob@example.com', now + 3600_000, laptop),
  );
  assert.equal(skew.body.code, 'ROAM_NAMES_CLOCK_SKEW');
  const unknown = await call(
    url,
    'POST',
    '/v1/heartbeat',
    signHeartbeat('tv.bob@example.com', now, laptop),
  );
  assert.equal(unknown.body.code, 'ROAM_NAMES_NOT_FOUND');
});

test('a record that expires is no longer served', async (t) => {
  const { url, clock, bob } = await startRig(t);
  await call(
    url,
    'POST',
    '/v1/names',
    userRecord('bob@example.com', bob, clock.now(), { expiresAt: clock.now() + 60_000 }),
  );
  clock.advance(59_999);
  assert.equal((await call(url, 'GET', '/v1/names/bob@example.com')).status, 200);
  clock.advance(1);
  const gone = await call(url, 'GET', '/v1/names/bob@example.com');
  assert.equal(gone.body.code, 'ROAM_NAMES_NOT_FOUND');
  assert.match(String(gone.body.message), /expired at .*publish it again/);
  // The owner publishes again (a newer version, a later expiry) and it is back.
  await call(
    url,
    'PUT',
    '/v1/names/bob@example.com',
    userRecord('bob@example.com', bob, clock.now(), { version: 2 }),
  );
  assert.equal((await call(url, 'GET', '/v1/names/bob@example.com')).status, 200);
});
