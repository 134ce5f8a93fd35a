import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodedLength, encodeFrame } from '../../src/wire/encode.js';
import { type Frame } from '../../src/wire/frame.js';
import { decodeAll, hex } from './arbitraries.js';

// Expected bytes written by hand from docs/protocol.md, not from the encoder.

const CONN_ID = hex('000102030405060708090a0b0c0d0e0f');
const NONCE = hex('f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff');

function check(frame: Frame, expected: Buffer): void {
  const pieces = encodeFrame(frame);
  assert.deepEqual(Buffer.concat(pieces), expected);
  assert.equal(encodedLength(frame), expected.length);
  assert.deepEqual(decodeAll(expected), [frame]);
}

test('HELLO, attach mode, IPv4 control address', () => {
  check(
    {
      type: 'hello',
      mode: 'attach',
      pathId: 3,
      connId: CONN_ID,
      nonce: NONCE,
      keyShare: Buffer.alloc(32),
      counter: 42,
      received: 0x0102_0304_0506,
      recvWindow: 1 << 20,
      controlAddr: { host: '192.168.0.1', port: 8080 },
      proof: Buffer.alloc(32, 0xab),
    },
    hex(`
      01 00 00000089
      524f414d 02 01 0003
      000102030405060708090a0b0c0d0e0f
      f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff
      ${'00'.repeat(32)}
      0000002a 010203040506 00100000
      04 c0a80001 ${'00'.repeat(12)} 1f90
      ${'ab'.repeat(32)}
    `),
  );
});

test('HELLO, new mode, IPv6 control address', () => {
  check(
    {
      type: 'hello',
      mode: 'new',
      pathId: 0,
      connId: CONN_ID,
      nonce: NONCE,
      keyShare: Buffer.alloc(32, 0x5a),
      counter: 0,
      received: 0,
      recvWindow: 65536,
      controlAddr: { host: '2001:db8::1', port: 443 },
      proof: Buffer.alloc(32),
    },
    hex(`
      01 00 00000089
      524f414d 02 00 0000
      000102030405060708090a0b0c0d0e0f
      f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff
      ${'5a'.repeat(32)}
      00000000 000000000000 00010000
      06 20010db8000000000000000000000001 01bb
      ${'00'.repeat(32)}
    `),
  );
});

test('HELLO, new mode with the MULTIPATH flag (flags bit 0): more flowpaths will follow', () => {
  const frame: Frame = {
    type: 'hello',
    mode: 'new',
    pathId: 0,
    connId: CONN_ID,
    nonce: NONCE,
    keyShare: Buffer.alloc(32, 0x5a),
    counter: 0,
    received: 0,
    recvWindow: 65536,
    controlAddr: null,
    proof: Buffer.alloc(32),
    multipath: true,
  };
  check(
    frame,
    hex(`
      01 01 00000089
      524f414d 02 00 0000
      000102030405060708090a0b0c0d0e0f
      f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff
      ${'5a'.repeat(32)}
      00000000 000000000000 00010000
      ${'00'.repeat(19)}
      ${'00'.repeat(32)}
    `),
  );
  // Only a HELLO that opens a session says it; anything else is refused both ways.
  const attach = { ...frame, mode: 'attach' as const, keyShare: Buffer.alloc(32), counter: 1 };
  assert.throws(() => encodeFrame(attach), { code: 'ROAM_BAD_INPUT' });
  const wire = Buffer.concat(encodeFrame({ ...attach, multipath: false }));
  wire[1] = 0x01;
  assert.throws(() => decodeAll(wire), { code: 'ROAM_WIRE_MALFORMED' });
  const other = Buffer.concat(encodeFrame(frame));
  other[1] = 0x02; // a reserved bit
  assert.throws(() => decodeAll(other), { code: 'ROAM_WIRE_MALFORMED' });
});

test('WELCOME without a control address', () => {
  check(
    {
      type: 'welcome',
      pathId: 0xfffe,
      connId: CONN_ID,
      nonce: NONCE,
      keyShare: Buffer.alloc(32, 0xee),
      received: 7,
      recvWindow: 0x40000,
      controlAddr: null,
      proof: Buffer.alloc(32, 0xcd),
    },
    hex(`
      02 00 0000007f
      fffe
      000102030405060708090a0b0c0d0e0f
      f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff
      ${'ee'.repeat(32)}
      000000000007 00040000
      ${'00'.repeat(19)}
      ${'cd'.repeat(32)}
    `),
  );
});

test('DATA with FIN: header and fixed fields in one piece, the payload itself in the other', () => {
  const payload = Buffer.from('hello');
  const frame: Frame = {
    type: 'data',
    seq: 100,
    ack: 0xffff_ffff,
    window: 0xffff,
    fin: true,
    payload,
  };
  check(frame, hex('03 01 00000015  000000000064 0000ffffffff 0000ffff  68656c6c6f'));
  const pieces = encodeFrame(frame);
  assert.equal(pieces.length, 2);
  assert.equal(pieces[1], payload, 'the payload is passed through, not copied');
});

test('DATA without payload or FIN is one piece', () => {
  const frame: Frame = {
    type: 'data',
    seq: 0,
    ack: 1,
    window: 2,
    fin: false,
    payload: Buffer.alloc(0),
  };
  check(frame, hex('03 00 00000010  000000000000 000000000001 00000002'));
  assert.equal(encodeFrame(frame).length, 1);
});

test('ACK at the top of the u48 range', () => {
  check(
    { type: 'ack', ack: 2 ** 48 - 1, window: 0xffff_ffff },
    hex('04 00 0000000a  ffffffffffff ffffffff'),
  );
});

test('PING and PONG', () => {
  check({ type: 'ping', id: 0xdeadbeef }, hex('05 00 00000004 deadbeef'));
  check({ type: 'pong', id: 1 }, hex('06 00 00000004 00000001'));
});

test('ERROR with an ASCII reason, and with UTF-8', () => {
  check(
    { type: 'error', code: 6, reason: 'unsupported version' },
    hex('07 00 00000015  0006  756e737570706f727465642076657273696f6e'),
  );
  check({ type: 'error', code: 0xffff, reason: 'é' }, hex('07 00 00000004  ffff c3a9'));
  check({ type: 'error', code: 1, reason: '' }, hex('07 00 00000002  0001'));
});

test('ERROR with invalid UTF-8 decodes with replacement characters', () => {
  assert.deepEqual(decodeAll(hex('07 00 00000005  0002 61ff62')), [
    { type: 'error', code: 2, reason: 'a\ufffdb' },
  ]);
});

test('PATH_ACK (version 2)', () => {
  check(
    { type: 'path-ack', ack: 0x0102_0304_0506, window: 65536, pathReceived: 2 ** 48 - 1 },
    hex('08 00 00000010  010203040506 00010000 ffffffffffff'),
  );
});

test('ADDRESSES (version 2): none, and one IPv4 and one IPv6', () => {
  check({ type: 'addresses', addresses: [] }, hex('09 00 00000001  00'));
  check(
    {
      type: 'addresses',
      addresses: [
        { host: '10.0.0.2', port: 7000 },
        { host: '2001:db8::1', port: 443 },
      ],
    },
    hex(`
      09 00 00000027  02
      04 0a000002 ${'00'.repeat(12)} 1b58
      06 20010db8${'00'.repeat(10)}0001 01bb
    `),
  );
});

test('ADDRESSES with a count that does not match its length, or "none", is malformed', () => {
  const bad = [
    hex(`09 00 00000014  02 04 0a000002 ${'00'.repeat(12)} 1b58`),
    hex(`09 00 00000014  01 ${'00'.repeat(19)}`),
    hex('09 00 00000003  00 0000'),
  ];
  for (const bytes of bad) {
    assert.throws(
      () => decodeAll(bytes),
      (e: unknown) => (e as { code?: string }).code === 'ROAM_WIRE_MALFORMED',
    );
  }
});

test('PATH_STATUS (version 2): removed, backup with a cost, active', () => {
  check(
    { type: 'path-status', pathId: 1, status: 'removed', seq: 0, cost: 0 },
    hex('0a 00 00000008  0001 02 00 00000000'),
  );
  check(
    { type: 'path-status', pathId: 0xbeef, status: 'backup', seq: 7, cost: 0x01020304 },
    hex('0a 00 00000008  beef 01 07 01020304'),
  );
  check(
    { type: 'path-status', pathId: 65535, status: 'active', seq: 255, cost: 2 ** 32 - 1 },
    hex('0a 00 00000008  ffff 00 ff ffffffff'),
  );
});

test('PATH_STATUS with an unknown status, a wrong length is malformed', () => {
  const bad = [
    hex('0a 00 00000008  0001 03 00 00000000'),
    hex('0a 00 00000008  0001 ff 00 00000000'),
    hex('0a 00 00000007  0001 02 00 000000'),
    hex('0a 00 00000009  0001 02 00 00000000 00'),
  ];
  for (const bytes of bad) {
    assert.throws(
      () => decodeAll(bytes),
      (e: unknown) => (e as { code?: string }).code === 'ROAM_WIRE_MALFORMED',
      bytes.toString('hex'),
    );
  }
});

test('HELLO, add mode (version 2)', () => {
  const frame: Frame = {
    type: 'hello',
    mode: 'add',
    pathId: 1,
    connId: CONN_ID,
    nonce: NONCE,
    keyShare: Buffer.alloc(32),
    counter: 7,
    received: 0,
    recvWindow: 1,
    controlAddr: null,
    proof: Buffer.alloc(32, 1),
  };
  const bytes = Buffer.concat(encodeFrame(frame));
  assert.equal(bytes[6 + 4], 2, 'version 2');
  assert.equal(bytes[6 + 5], 2, 'mode 2: add');
  assert.deepEqual(decodeAll(bytes), [frame]);
});
