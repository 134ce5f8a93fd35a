import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { test } from 'node:test';
import fc from 'fast-check';
import { RoamError } from '../../src/errors.js';
import { generateKeyPair } from '../../src/names/keys.js';
import { IFACES, parseRecord } from '../../src/names/record.js';
import { verifyRecord } from '../../src/names/verify.js';
import { deviceRecord, HOUR, userRecord } from './helpers.js';

const NOW = Date.UTC(2030, 0, 1);
const bob = generateKeyPair();
const laptop = generateKeyPair();
const owner = userRecord('bob@example.com', bob, NOW);

const address = fc.record({
  ip: fc.oneof(fc.ipV4(), fc.ipV6()),
  port: fc.integer({ min: 1, max: 65535 }),
  iface: fc.constantFrom(...IFACES),
  priority: fc.integer({ min: 0, max: 65535 }),
});
const validRecord = fc
  .record({
    device: fc.boolean(),
    addresses: fc.array(address, { maxLength: 4 }),
    relays: fc.array(fc.record({ host: fc.domain(), port: fc.integer({ min: 1, max: 65535 }) }), {
      maxLength: 2,
    }),
    attributes: fc.dictionary(
      fc.stringMatching(/^[a-z][a-z0-9._-]{0,10}$/),
      fc.string({ maxLength: 20 }),
      { maxKeys: 3, noNullPrototype: true },
    ),
    version: fc.integer({ min: 1, max: 2 ** 40 }),
    ttl: fc.integer({ min: 1, max: 24 * HOUR }),
  })
  .map(({ device, ttl, ...rest }) =>
    device
      ? deviceRecord('laptop.bob@example.com', laptop, bob, NOW, { ...rest, expiresAt: NOW + ttl })
      : userRecord('bob@example.com', bob, NOW, { ...rest, expiresAt: NOW + ttl }),
  );

function leafPaths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (v === null || typeof v !== 'object') return [prefix];
  const keys = Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
  return [
    prefix,
    ...keys.flatMap((k) => leafPaths((v as Record<string | number, unknown>)[k], [...prefix, k])),
  ];
}

function setAt(root: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let node = copy;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
}

test('fuzz: every generated record verifies, and so does its JSON round trip', () => {
  fc.assert(
    fc.property(validRecord, (r) => {
      verifyRecord(parseRecord(JSON.parse(JSON.stringify(r))), { now: NOW, owner });
    }),
    { numRuns: 200 },
  );
});

test('fuzz: any change to any field of a signed record is refused, never accepted', () => {
  fc.assert(
    fc.property(
      validRecord,
      fc.nat(),
      fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined }),
      (r, pick, value) => {
        const paths = leafPaths(r).filter((p) => p.length > 0);
        const path = paths[pick % paths.length] ?? ['version'];
        const mutated = setAt(r, path, value);
        // Compare as the server sees them (JSON): prototypes and key order do not count.
        const asJson = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;
        fc.pre(!isDeepStrictEqual(asJson(mutated), asJson(r)));
        assert.throws(
          () => verifyRecord(parseRecord(JSON.parse(JSON.stringify(mutated))), { now: NOW, owner }),
          (e) => e instanceof RoamError,
          `accepted a change at ${path.join('.')}`,
        );
      },
    ),
    { numRuns: 1000 },
  );
});

test('fuzz: arbitrary JSON is refused with ROAM_NAMES_INVALID, never a crash', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => {
      assert.throws(
        () => parseRecord(v),
        (e) => e instanceof RoamError && e.code === 'ROAM_NAMES_INVALID',
      );
    }),
    { numRuns: 1000 },
  );
});
