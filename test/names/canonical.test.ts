import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { type Canonical, canonicalJson } from '../../src/names/canonical.js';
import { isRoamError } from '../../src/errors.js';

test('canonical JSON: sorted keys, no whitespace, fixed escapes (vectors)', () => {
  assert.equal(
    canonicalJson({ b: 1, a: [true, null, 'x'], c: {} }),
    '{"a":[true,null,"x"],"b":1,"c":{}}',
  );
  assert.equal(canonicalJson({ é: 1, Z: 2, a: 3, _: 4 }), '{"Z":2,"_":4,"a":3,"é":1}');
  assert.equal(canonicalJson('line\n"q"\u0001\ud800'), '"line\\n\\"q\\"\\u0001\\ud800"');
  assert.equal(canonicalJson({ skip: undefined, keep: 0 }), '{"keep":0}');
  assert.equal(canonicalJson(-0), '0');
  assert.equal(canonicalJson(Number.MAX_SAFE_INTEGER), '9007199254740991');
});

test('canonical JSON refuses what has no single encoding', () => {
  for (const bad of [1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, undefined]) {
    assert.throws(
      () => canonicalJson(bad as Canonical),
      (e) => isRoamError(e, 'ROAM_NAMES_INVALID'),
    );
  }
  let deep: Canonical = 1;
  for (let i = 0; i < 40; i++) deep = [deep];
  assert.throws(
    () => canonicalJson(deep),
    (e) => isRoamError(e, 'ROAM_NAMES_INVALID'),
  );
});

const value: fc.Arbitrary<Canonical> = fc.letrec<{ v: Canonical }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.maxSafeInteger(),
    fc.string({ unit: 'binary' }),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.string({ unit: 'binary', maxLength: 6 }), tie('v'), {
      maxKeys: 4,
      noNullPrototype: true,
    }),
  ),
})).v;

function shuffleKeys(v: Canonical, seed: number): Canonical {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return (v as Canonical[]).map((x) => shuffleKeys(x, seed));
  const obj = v as Record<string, Canonical>;
  const keys = Object.keys(obj).sort(
    (a, b) => ((a.length * 31 + seed) % 7) - ((b.length * 31 + seed) % 7) || (b < a ? -1 : 1),
  );
  const out: Record<string, Canonical> = {};
  for (const k of keys) out[k] = shuffleKeys(obj[k] ?? null, seed);
  return out;
}

test('canonical JSON: the same value in any key order encodes the same, and parses back equal', () => {
  fc.assert(
    fc.property(value, fc.nat(), (v, seed) => {
      const enc = canonicalJson(v);
      assert.equal(canonicalJson(shuffleKeys(v, seed)), enc);
      assert.deepEqual(JSON.parse(enc), v);
      assert.equal(canonicalJson(JSON.parse(enc) as Canonical), enc);
    }),
    { numRuns: 500 },
  );
});
