import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  type ControlMessage,
  controlProofInput,
  decodeControl,
  encodeControl,
} from '../../src/wire/control.js';
import { WireError } from '../../src/wire/errors.js';
import { control, hex } from './arbitraries.js';

const CONN_ID = hex('000102030405060708090a0b0c0d0e0f');
const code = (code: string) => (err: unknown) => err instanceof WireError && err.code === code;

const reconnect: ControlMessage = {
  type: 'reconnect',
  connId: CONN_ID,
  counter: 7,
  addr: { host: '10.0.0.2', port: 5000 },
  proof: Buffer.alloc(32, 0x11),
};
const RECONNECT_HEX = hex(`
  524d4354 01 01
  000102030405060708090a0b0c0d0e0f
  00000007
  04 0a000002 ${'00'.repeat(12)} 1388
  ${'11'.repeat(32)}
`);

test('RECONNECT from hex', () => {
  assert.deepEqual(encodeControl(reconnect), RECONNECT_HEX);
  assert.deepEqual(decodeControl(RECONNECT_HEX), reconnect);
});

test('RECONNECT_ACK from hex', () => {
  const ack: ControlMessage = {
    type: 'reconnect-ack',
    connId: CONN_ID,
    counter: 0xffff_ffff,
    proof: Buffer.alloc(32, 0x22),
  };
  const bytes = hex(`
    524d4354 01 02
    000102030405060708090a0b0c0d0e0f
    ffffffff
    ${'00'.repeat(19)}
    ${'22'.repeat(32)}
  `);
  assert.deepEqual(encodeControl(ack), bytes);
  assert.deepEqual(decodeControl(bytes), ack);
});

test('the proof covers exactly the 45 bytes before it', () => {
  assert.deepEqual(controlProofInput(reconnect), RECONNECT_HEX.subarray(0, 45));
  fc.assert(
    fc.property(control, (m) => {
      assert.deepEqual(controlProofInput(m), encodeControl(m).subarray(0, 45));
    }),
  );
});

test('bad datagrams give their codes', () => {
  const cases: [string, Buffer, string][] = [
    ['too large', Buffer.alloc(129), 'ROAM_WIRE_TOO_LARGE'],
    ['too short for a header', RECONNECT_HEX.subarray(0, 5), 'ROAM_WIRE_MALFORMED'],
    ['magic', with_(0, 0x72), 'ROAM_WIRE_MAGIC'],
    ['version', with_(4, 2), 'ROAM_WIRE_VERSION'],
    ['type 0', with_(5, 0), 'ROAM_WIRE_TYPE'],
    ['type 3', with_(5, 3), 'ROAM_WIRE_TYPE'],
    ['truncated', RECONNECT_HEX.subarray(0, 76), 'ROAM_WIRE_MALFORMED'],
    ['trailing byte', Buffer.concat([RECONNECT_HEX, Buffer.alloc(1)]), 'ROAM_WIRE_MALFORMED'],
    ['ack with an address', with_(5, 2), 'ROAM_WIRE_MALFORMED'],
    ['reconnect without an address', withNone(), 'ROAM_WIRE_MALFORMED'],
    ['address family 9', with_(26, 9), 'ROAM_WIRE_MALFORMED'],
  ];
  for (const [name, bytes, expected] of cases) {
    assert.throws(() => decodeControl(bytes), code(expected), name);
  }
});

test('a datagram of another version is told apart whatever its length', () => {
  const v2 = Buffer.alloc(100);
  Buffer.from('RMCT').copy(v2);
  v2[4] = 2;
  v2[5] = 9;
  assert.throws(() => decodeControl(v2), code('ROAM_WIRE_VERSION'));
});

test('random datagrams only ever give WireError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (raw, withMagic) => {
      const bytes = Buffer.from(raw);
      if (withMagic && bytes.length >= 6) Buffer.from('RMCT\x01').copy(bytes);
      try {
        decodeControl(bytes);
      } catch (err) {
        if (!(err instanceof WireError)) throw err;
      }
    }),
    { numRuns: 1000 },
  );
});

test('encoding checks its fields', () => {
  const bad: unknown[] = [
    { ...reconnect, connId: Buffer.alloc(15) },
    { ...reconnect, counter: 2 ** 32 },
    { ...reconnect, proof: Buffer.alloc(31) },
    { ...reconnect, addr: null },
    { ...reconnect, addr: { host: 'example.com', port: 1 } },
    { ...reconnect, type: 'hello' },
  ];
  for (const msg of bad) {
    assert.throws(() => encodeControl(msg as ControlMessage), { code: 'ROAM_BAD_INPUT' });
  }
});

function with_(at: number, value: number): Buffer {
  const bytes = Buffer.from(RECONNECT_HEX);
  bytes[at] = value;
  return bytes;
}

function withNone(): Buffer {
  const bytes = Buffer.from(RECONNECT_HEX);
  bytes.fill(0, 26, 45);
  return bytes;
}
