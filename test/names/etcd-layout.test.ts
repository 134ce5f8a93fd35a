import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isRoamError } from '../../src/errors.js';
import {
  decodeEntry,
  encodeEntry,
  EtcdLayout,
  padVersion,
  prefixEnd,
} from '../../src/names/store/etcd/layout.js';

test('etcd layout: entries round-trip, whatever the owner and record hold', () => {
  fc.assert(
    fc.property(
      fc.string(),
      fc.nat({ max: Number.MAX_SAFE_INTEGER }),
      fc.string(),
      (owner, version, value) => {
        assert.deepEqual(decodeEntry(encodeEntry(owner, version, value)), {
          owner,
          version,
          value,
        });
      },
    ),
  );
  for (const bad of [-1, 1.5, Number.MAX_SAFE_INTEGER + 1, Number.NaN])
    assert.throws(
      () => padVersion(bad),
      (e) => isRoamError(e, 'ROAM_NAMES_INVALID'),
    );
  assert.throws(
    () => decodeEntry(Buffer.from('something else')),
    (e) => isRoamError(e, 'ROAM_NAMES_DB'),
  );
});

test("etcd layout: etcd's byte-wise `stored value < padded version` is exactly `stored version < version`", () => {
  fc.assert(
    fc.property(
      fc.nat({ max: Number.MAX_SAFE_INTEGER }),
      fc.nat({ max: Number.MAX_SAFE_INTEGER }),
      fc.string(),
      (stored, next, owner) => {
        const value = encodeEntry(owner, stored, '{"x":1}');
        const less = Buffer.compare(value, Buffer.from(padVersion(next))) < 0;
        assert.equal(less, stored < next);
      },
    ),
  );
});

test('etcd layout: keys, the owner range and prefix ends', () => {
  const l = new EtcdLayout('roam/names/');
  assert.equal(l.nameKey('laptop.bob@x').toString(), 'roam/names/n/laptop.bob@x');
  assert.equal(l.ownerKey('bob@x', 'laptop.bob@x').toString(), 'roam/names/o/bob%40x/laptop.bob@x');
  assert.equal(l.nameOf(l.nameKey('a/b')), 'a/b');
  assert.equal(l.nameOf(l.meta), undefined);
  // One owner's range holds its names and no other owner's, even one that extends it.
  const r = l.ownerRange('bob@x');
  const inRange = (k: Buffer) =>
    Buffer.compare(k, r.key) >= 0 && Buffer.compare(k, r.range_end) < 0;
  assert.ok(inRange(l.ownerKey('bob@x', 'z.bob@x')));
  assert.ok(!inRange(l.ownerKey('bob@xy', 'a.bob@xy')));
  assert.ok(!inRange(l.ownerKey('bob/x', 'a')));
  assert.deepEqual(prefixEnd(Buffer.from('ab')), Buffer.from('ac'));
  assert.deepEqual(prefixEnd(Buffer.from([0x61, 0xff])), Buffer.from([0x62]));
  assert.deepEqual(prefixEnd(Buffer.from([0xff, 0xff])), Buffer.from([0]));
});
