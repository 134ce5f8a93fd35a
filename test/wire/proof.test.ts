import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { type AttachProofFields, attachProofInput } from '../../src/wire/proof.js';
import { bytes, hex, U48_MAX } from './arbitraries.js';

const fields: AttachProofFields = {
  connId: hex('000102030405060708090a0b0c0d0e0f'),
  pathId: 2,
  counter: 5,
  received: 0x0a0b0c0d0e0f,
  clientNonce: Buffer.alloc(16, 0xc1),
  serverNonce: null,
};

test('client proof input from hex: server nonce zeros until known', () => {
  assert.deepEqual(
    attachProofInput('client', fields),
    hex(`
      726f616d2d6174746163682d63
      000102030405060708090a0b0c0d0e0f
      0002 00000005 0a0b0c0d0e0f
      ${'c1'.repeat(16)}
      ${'00'.repeat(16)}
    `),
  );
});

test('server proof input from hex: its own label, both nonces', () => {
  assert.deepEqual(
    attachProofInput('server', { ...fields, serverNonce: Buffer.alloc(16, 0x5e) }),
    hex(`
      726f616d2d6174746163682d73
      000102030405060708090a0b0c0d0e0f
      0002 00000005 0a0b0c0d0e0f
      ${'c1'.repeat(16)}
      ${'5e'.repeat(16)}
    `),
  );
});

const arbFields = fc
  .record({
    connId: bytes(16),
    pathId: fc.integer({ min: 0, max: 0xffff }),
    counter: fc.integer({ min: 0, max: 0xffff_ffff }),
    received: fc.integer({ min: 0, max: U48_MAX }),
    clientNonce: bytes(16),
    serverNonce: fc.option(bytes(16), { nil: null }),
  })
  .map((f) => ({ ...f }));
/** A different value in the same range. */
const nudge = (n: number) => (n % 2 === 0 ? n + 1 : n - 1);
const arbRole = fc.constantFrom('client' as const, 'server' as const);

test('fixed width, and different inputs never give the same bytes', () => {
  fc.assert(
    fc.property(arbRole, arbFields, arbRole, arbFields, (roleA, a, roleB, b) => {
      const x = attachProofInput(roleA, a);
      const y = attachProofInput(roleB, b);
      assert.equal(x.length, 73);
      const zerosA = a.serverNonce ?? Buffer.alloc(16);
      const zerosB = b.serverNonce ?? Buffer.alloc(16);
      const same =
        roleA === roleB &&
        a.connId.equals(b.connId) &&
        a.pathId === b.pathId &&
        a.counter === b.counter &&
        a.received === b.received &&
        a.clientNonce.equals(b.clientNonce) &&
        zerosA.equals(zerosB);
      assert.equal(x.equals(y), same);
    }),
    { numRuns: 500 },
  );
});

test('changing any single field changes the bytes', () => {
  fc.assert(
    fc.property(arbRole, arbFields, fc.nat(5), (role, f, which) => {
      const before = attachProofInput(role, f);
      const flip = (b: Buffer) => Buffer.from(b.map((x, i) => (i === 0 ? x ^ 1 : x)));
      const changed: AttachProofFields[] = [
        { ...f, connId: flip(f.connId) },
        { ...f, pathId: nudge(f.pathId) },
        { ...f, counter: nudge(f.counter) },
        { ...f, received: nudge(f.received) },
        { ...f, clientNonce: flip(f.clientNonce) },
        { ...f, serverNonce: flip(f.serverNonce ?? Buffer.alloc(16)) },
      ];
      const other = changed[which];
      assert.ok(other !== undefined);
      assert.ok(!attachProofInput(role, other).equals(before));
    }),
    { numRuns: 300 },
  );
});

test('fields out of range are refused', () => {
  const bad: AttachProofFields[] = [
    { ...fields, connId: Buffer.alloc(8) },
    { ...fields, pathId: 70000 },
    { ...fields, counter: -1 },
    { ...fields, received: U48_MAX + 1 },
    { ...fields, clientNonce: Buffer.alloc(17) },
    { ...fields, serverNonce: Buffer.alloc(0) },
  ];
  for (const f of bad)
    assert.throws(() => attachProofInput('client', f), { code: 'ROAM_BAD_INPUT' });
  assert.throws(() => attachProofInput('peer' as 'client', fields), { code: 'ROAM_BAD_INPUT' });
});
