import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateKeyPair } from '../../src/names/keys.js';
import { call, deviceRecord, HOUR, startRig, userRecord } from './helpers.js';

const enc = encodeURIComponent;

test('register, update, lookup, list-devices, delete over HTTP', async (t) => {
  const { url, clock, bob, laptop } = await startRig(t);
  const now = clock.now();
  const v1 = userRecord('bob@example.com', bob, now);
  const reg = await call(url, 'POST', '/v1/names', v1);
  assert.equal(reg.status, 201, JSON.stringify(reg.body));
  assert.deepEqual(reg.body, { name: 'bob@example.com', version: 1, revision: 1 });
  assert.equal(
    (await call(url, 'POST', '/v1/names', userRecord('bob@example.com', bob, now, { version: 2 })))
      .body.code,
    'ROAM_NAMES_TAKEN',
  );

  const v2 = userRecord('bob@example.com', bob, now, {
    version: 2,
    attributes: { display: 'Bob' },
  });
  assert.equal((await call(url, 'PUT', `/v1/names/${enc('bob@example.com')}`, v2)).status, 200);
  const got = await call(url, 'GET', '/v1/names/bob@example.com');
  assert.deepEqual(got.body, { record: v2, revision: 2 });

  const dev = deviceRecord('laptop.bob@example.com', laptop, bob, now);
  assert.equal((await call(url, 'POST', '/v1/names', dev)).status, 201);
  const lookup = await call(url, 'GET', '/v1/names/laptop.bob@example.com');
  assert.deepEqual(lookup.body, { record: dev, owner: v2, revision: 3 });
  const list = await call(url, 'GET', '/v1/users/bob@example.com/devices');
  assert.deepEqual(list.body, {
    user: 'bob@example.com',
    devices: [{ name: dev.name, online: false, lastSeen: null, expired: false, record: dev }],
  });

  // The user cannot be deleted while it owns devices.
  const userTomb = userRecord('bob@example.com', bob, now, {
    version: 3,
    addresses: [],
    deleted: true,
  });
  const refused = await call(url, 'DELETE', '/v1/names/bob@example.com', userTomb);
  assert.equal(refused.body.code, 'ROAM_NAMES_CONFLICT', JSON.stringify(refused.body));
  const tomb = deviceRecord(dev.name, laptop, bob, now, {
    version: 2,
    addresses: [],
    deleted: true,
  });
  assert.equal((await call(url, 'DELETE', `/v1/names/${dev.name}`, tomb)).status, 200);
  assert.equal((await call(url, 'GET', `/v1/names/${dev.name}`)).body.code, 'ROAM_NAMES_NOT_FOUND');
  // Replaying the old record does not bring the deleted name back.
  const replay = await call(url, 'POST', '/v1/names', dev);
  assert.equal(replay.status, 409);
  assert.deepEqual(replay.body.code, 'ROAM_NAMES_STALE');
  assert.equal(replay.body.currentVersion, 2);
  assert.deepEqual((await call(url, 'GET', '/v1/users/bob@example.com/devices')).body.devices, []);
  assert.equal((await call(url, 'DELETE', '/v1/names/bob@example.com', userTomb)).status, 200);
  // Deleted, but still Bob's: another key cannot claim it.
  const mallory = generateKeyPair();
  const claim = await call(
    url,
    'POST',
    '/v1/names',
    userRecord('bob@example.com', mallory, now, { version: 99 }),
  );
  assert.equal(claim.status, 403);
  assert.equal(claim.body.code, 'ROAM_NAMES_WRONG_KEY');
  assert.equal(
    (await call(url, 'POST', '/v1/names', userRecord('bob@example.com', bob, now, { version: 4 })))
      .status,
    201,
  );
});

test('every error is JSON { code, message } with the right status', async (t) => {
  const { url, clock, bob } = await startRig(t);
  const now = clock.now();
  const cases: [string, string, unknown, number, string, RegExp][] = [
    ['POST', '/v1/names', '{"name":', 400, 'ROAM_NAMES_BAD_JSON', /not valid JSON/],
    [
      'POST',
      '/v1/names',
      { ...userRecord('bob@example.com', bob, now), version: -1 },
      400,
      'ROAM_NAMES_INVALID',
      /record\.version/,
    ],
    [
      'POST',
      '/v1/names',
      userRecord('Bob@example.com', bob, now),
      400,
      'ROAM_NAMES_BAD_NAME',
      /lowercase/,
    ],
    [
      'POST',
      '/v1/names',
      userRecord('bob@example.com', bob, now, { expiresAt: now - 1 }),
      400,
      'ROAM_NAMES_EXPIRED',
      /expired/,
    ],
    [
      'POST',
      '/v1/names',
      userRecord('bob@example.com', bob, now, { expiresAt: now + 90 * 24 * HOUR }),
      400,
      'ROAM_NAMES_INVALID',
      /shorter lifetime/,
    ],
    [
      'POST',
      '/v1/names',
      deviceRecord('pc.bob@example.com', bob, bob, now),
      409,
      'ROAM_NAMES_NO_OWNER',
      /register it before/,
    ],
    [
      'PUT',
      '/v1/names/alice@example.com',
      userRecord('bob@example.com', bob, now),
      400,
      'ROAM_NAMES_INVALID',
      /request is for alice/,
    ],
    [
      'PUT',
      '/v1/names/bob@example.com',
      userRecord('bob@example.com', bob, now),
      404,
      'ROAM_NAMES_NOT_FOUND',
      /register it first/,
    ],
    ['GET', '/v1/names/%E0%A4%A', undefined, 400, 'ROAM_NAMES_BAD_NAME', /percent-encoded/],
    [
      'GET',
      '/v1/names/nobody@example.com',
      undefined,
      404,
      'ROAM_NAMES_NOT_FOUND',
      /not registered/,
    ],
    [
      'GET',
      '/v1/users/laptop.bob@example.com/devices',
      undefined,
      400,
      'ROAM_NAMES_BAD_NAME',
      /not a user name/,
    ],
    ['GET', '/v2/names', undefined, 404, 'ROAM_NAMES_NO_ROUTE', /names-api\.md/],
    [
      'PATCH',
      '/v1/names/bob@example.com',
      undefined,
      405,
      'ROAM_NAMES_METHOD',
      /use GET or PUT or DELETE/,
    ],
    [
      'POST',
      '/v1/heartbeat',
      { name: 'bob@example.com' },
      400,
      'ROAM_NAMES_INVALID',
      /heartbeat\.at/,
    ],
    ['GET', '/v1/watch', undefined, 400, 'ROAM_NAMES_INVALID', /\?name=/],
  ];
  for (const [method, path, body, status, code, why] of cases) {
    const res = await call(url, method, path, body);
    assert.equal(res.status, status, `${method} ${path}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.code, code, `${method} ${path}`);
    assert.match(String(res.body.message), why, `${method} ${path}`);
    assert.match(String(res.headers['content-type']), /application\/json/);
  }
  assert.equal(
    (await call(url, 'PATCH', '/v1/names/x', undefined)).headers.allow,
    'GET, PUT, DELETE',
  );
  assert.equal((await call(url, 'GET', '/v1/health')).body.ok, true);
});
