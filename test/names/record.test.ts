import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isRoamError, type RoamErrorCode } from '../../src/errors.js';
import { generateKeyPair } from '../../src/names/keys.js';
import { type NameRecord, parseRecord } from '../../src/names/record.js';
import { signRecord } from '../../src/names/sign.js';
import { verifyRecord, type VerifyContext } from '../../src/names/verify.js';
import { deviceRecord, fields, HOUR, userRecord } from './helpers.js';

const NOW = Date.UTC(2030, 0, 1);
const bob = generateKeyPair();
const mallory = generateKeyPair();
const laptop = generateKeyPair();

function rejects(
  record: unknown,
  ctx: Partial<VerifyContext>,
  code: RoamErrorCode,
  why?: RegExp,
): void {
  assert.throws(
    () => verifyRecord(parseRecord(record), { now: NOW, ...ctx }),
    (e) => isRoamError(e, code) && (!why || why.test(e.message)),
    `expected ${code}`,
  );
}

test('a record signed by its key verifies, on first registration and as a newer version', () => {
  const v1 = userRecord('bob@example.com', bob, NOW);
  verifyRecord(parseRecord(JSON.parse(JSON.stringify(v1))), { now: NOW });
  verifyRecord(userRecord('bob@example.com', bob, NOW, { version: 2 }), { now: NOW, current: v1 });
});

test('a record signed by another key is refused', () => {
  const current = userRecord('bob@example.com', bob, NOW);
  // Mallory signs with her own key and says so: the name is not hers.
  rejects(
    userRecord('bob@example.com', mallory, NOW, { version: 9 }),
    { current },
    'ROAM_NAMES_WRONG_KEY',
  );
  // Mallory claims Bob's key but can only sign with hers: the signature does not verify.
  const forged = {
    ...fields('bob@example.com', bob, NOW, { version: 9 }),
    signature: signRecord(fields('bob@example.com', mallory, NOW, { version: 9 }), mallory)
      .signature,
  };
  rejects(forged, { current }, 'ROAM_NAMES_BAD_SIGNATURE');
  rejects(forged, {}, 'ROAM_NAMES_BAD_SIGNATURE');
});

test('a replayed or stale version is refused, saying which version is current', () => {
  const v1 = userRecord('bob@example.com', bob, NOW, { version: 1 });
  const v2 = userRecord('bob@example.com', bob, NOW, { version: 2 });
  for (const old of [v1, v2])
    assert.throws(
      () => verifyRecord(old, { now: NOW, current: v2 }),
      (e) =>
        isRoamError(e, 'ROAM_NAMES_STALE') &&
        (e as { details?: { currentVersion?: number } }).details?.currentVersion === 2,
    );
});

test('any tampered field breaks the signature', () => {
  const r = userRecord('bob@example.com', bob, NOW, {
    version: 5,
    control: { ip: '192.0.2.7', port: 4001 },
    attributes: { a: 'b' },
  });
  const edits: [string, (x: NameRecord) => void][] = [
    ['version up', (x) => (x.version += 1)],
    ['expiry', (x) => (x.expiresAt += 1)],
    [
      'address ip',
      (x) => (x.addresses[0] = { ip: '198.51.100.1', port: 4000, iface: 'wifi', priority: 10 }),
    ],
    [
      'address port',
      (x) => (x.addresses[0] = { ip: '192.0.2.7', port: 4001, iface: 'wifi', priority: 10 }),
    ],
    [
      'address iface',
      (x) => (x.addresses[0] = { ip: '192.0.2.7', port: 4000, iface: 'cellular', priority: 10 }),
    ],
    [
      'address priority',
      (x) => (x.addresses[0] = { ip: '192.0.2.7', port: 4000, iface: 'wifi', priority: 0 }),
    ],
    [
      'address added',
      (x) => x.addresses.push({ ip: '198.51.100.1', port: 1, iface: 'other', priority: 1 }),
    ],
    ['addresses removed', (x) => (x.addresses = [])],
    ['control removed', (x) => delete x.control],
    ['relay added', (x) => x.relays.push({ host: 'evil.example', port: 443 })],
    ['attribute changed', (x) => (x.attributes = { a: 'c' })],
    [
      'deleted',
      (x) => {
        x.deleted = true;
        x.addresses = [];
        delete x.control;
      },
    ],
    [
      'signature',
      (x) => (x.signature = `${x.signature.startsWith('A') ? 'B' : 'A'}${x.signature.slice(1)}`),
    ],
  ];
  for (const [what, edit] of edits) {
    const x = structuredClone(r);
    edit(x);
    assert.throws(
      () => verifyRecord(parseRecord(x), { now: NOW }),
      (e) => isRoamError(e, 'ROAM_NAMES_BAD_SIGNATURE'),
      what,
    );
  }
  const kind = { ...structuredClone(r), kind: 'device' };
  rejects(kind, {}, 'ROAM_NAMES_INVALID', /must be of kind user/);
});

test('an expired record is refused, and so is one that would live past the server limit', () => {
  rejects(userRecord('bob@example.com', bob, NOW, { expiresAt: NOW }), {}, 'ROAM_NAMES_EXPIRED');
  rejects(
    userRecord('bob@example.com', bob, NOW, { expiresAt: NOW - 1 }),
    {},
    'ROAM_NAMES_EXPIRED',
  );
  rejects(
    userRecord('bob@example.com', bob, NOW, { expiresAt: NOW + 2 * HOUR }),
    { maxTtlMs: HOUR },
    'ROAM_NAMES_INVALID',
    /shorter lifetime/,
  );
});

test('oversized, malformed or unknown fields are refused with the field named', () => {
  const ok = userRecord('bob@example.com', bob, NOW);
  const bad: [unknown, RegExp][] = [
    [{ ...ok, extra: 1 }, /record: Unrecognized key/i],
    [
      {
        ...ok,
        attributes: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v'])),
      },
      /record\.attributes: at most 32/,
    ],
    [{ ...ok, attributes: { k: 'v'.repeat(257) } }, /record\.attributes\.k/],
    [{ ...ok, attributes: { 'bad key': 'v' } }, /record\.attributes/],
    [{ ...ok, addresses: Array.from({ length: 17 }, () => ok.addresses[0]) }, /record\.addresses/],
    [
      { ...ok, addresses: [{ ip: '999.1.1.1', port: 1, iface: 'wifi', priority: 0 }] },
      /record\.addresses\.0\.ip: must be an IPv4 or IPv6/,
    ],
    [
      { ...ok, addresses: [{ ip: '::1', port: 0, iface: 'wifi', priority: 0 }] },
      /record\.addresses\.0\.port/,
    ],
    [
      { ...ok, addresses: [{ ip: '::1', port: 1, iface: 'carrier-pigeon', priority: 0 }] },
      /record\.addresses\.0\.iface/,
    ],
    [{ ...ok, relays: [{ host: 'bad host', port: 1 }] }, /record\.relays\.0\.host/],
    [{ ...ok, name: 'x'.repeat(300) }, /record\.name/],
    [{ ...ok, version: 1.5 }, /record\.version/],
    [{ ...ok, version: 2 ** 53 }, /record\.version/],
    [{ ...ok, key: 'not-a-key' }, /record\.key: must be a base64url Ed25519 public key/],
    [{ ...ok, signature: ok.signature.slice(1) }, /record\.signature/],
    [{ ...ok, deleted: true }, /a deletion carries no addresses/],
    ['a string', /record: /],
  ];
  for (const [record, why] of bad)
    assert.throws(
      () => parseRecord(record),
      (e) => isRoamError(e, 'ROAM_NAMES_INVALID') && why.test(e.message),
      String(why),
    );
});

test('a device is published by its own key, certified by its user', () => {
  const owner = userRecord('bob@example.com', bob, NOW);
  const name = 'laptop.bob@example.com';
  verifyRecord(deviceRecord(name, laptop, bob, NOW), { now: NOW, owner });
  rejects(deviceRecord(name, laptop, bob, NOW), {}, 'ROAM_NAMES_NO_OWNER', /register it before/);
  rejects(
    deviceRecord(name, laptop, mallory, NOW),
    { owner },
    'ROAM_NAMES_WRONG_KEY',
    /not bob@example.com's/,
  );
  // Bob's certificate for the laptop key does not certify Mallory's key.
  const stolen = signRecord(
    { ...fields(name, mallory, NOW), delegation: deviceRecord(name, laptop, bob, NOW).delegation },
    mallory,
  );
  rejects(stolen, { owner }, 'ROAM_NAMES_BAD_SIGNATURE', /delegation/);
  rejects(
    signRecord(fields(name, laptop, NOW), laptop),
    { owner },
    'ROAM_NAMES_INVALID',
    /needs a delegation/,
  );
  rejects(
    userRecord('bob@example.com', bob, NOW, {
      delegation: deviceRecord(name, laptop, bob, NOW).delegation,
    }),
    {},
    'ROAM_NAMES_INVALID',
    /no delegation/,
  );
});

test('a re-keyed device: the old key and its older delegation are refused', () => {
  const owner = userRecord('bob@example.com', bob, NOW);
  const name = 'laptop.bob@example.com';
  const fresh = generateKeyPair();
  const current = deviceRecord(name, fresh, bob, NOW, { version: 10 }, NOW + 5);
  // The lost laptop still holds its key and its (older) certificate.
  rejects(
    deviceRecord(name, laptop, bob, NOW, { version: 11 }, NOW),
    { owner, current },
    'ROAM_NAMES_WRONG_KEY',
    /replaced by a newer one/,
  );
  rejects(
    deviceRecord(name, laptop, bob, NOW, { version: 11 }, NOW + 5),
    { owner, current },
    'ROAM_NAMES_WRONG_KEY',
  );
  verifyRecord(deviceRecord(name, fresh, bob, NOW, { version: 11 }, NOW + 5), {
    now: NOW,
    owner,
    current,
  });
  verifyRecord(deviceRecord(name, laptop, bob, NOW, { version: 11 }, NOW + 6), {
    now: NOW,
    owner,
    current,
  });
});

test('an update that carries the stored delegation is accepted; any other delegation is checked', () => {
  const owner = userRecord('bob@example.com', bob, NOW);
  const name = 'laptop.bob@example.com';
  const current = deviceRecord(name, laptop, bob, NOW, { version: 1 });
  const delegation = current.delegation;
  assert.ok(delegation);
  const next = (d: typeof delegation, version: number) =>
    signRecord({ ...fields(name, laptop, NOW, { version }), delegation: d }, laptop);
  verifyRecord(next(delegation, 2), { now: NOW, owner, current });
  // The same certificate with a changed signature: not the stored one, so it is verified.
  const flipped = `${delegation.signature.startsWith('A') ? 'B' : 'A'}${delegation.signature.slice(1)}`;
  rejects(
    next({ ...delegation, signature: flipped }, 2),
    { owner, current },
    'ROAM_NAMES_BAD_SIGNATURE',
    /delegation/,
  );
  // The stored certificate with another device key: refused (it certifies the laptop's key).
  const other = generateKeyPair();
  rejects(
    signRecord({ ...fields(name, other, NOW, { version: 2 }), delegation }, other),
    { owner, current },
    'ROAM_NAMES_WRONG_KEY',
  );
});
