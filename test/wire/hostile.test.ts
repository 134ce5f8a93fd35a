import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { FrameDecoder } from '../../src/wire/decoder.js';
import { encodeFrame } from '../../src/wire/encode.js';
import { WireError } from '../../src/wire/errors.js';
import {
  type Frame,
  FrameType,
  HEADER_LENGTH,
  MAX_CONTROL_BODY,
  MAX_DATA_BODY,
} from '../../src/wire/frame.js';
import { chunk, frame, hex } from './arbitraries.js';

/** Feeds chunks until the end or a WireError; anything else thrown fails the test. */
function survive(decoder: FrameDecoder, chunks: Buffer[], bound: number): void {
  try {
    for (const c of chunks) {
      for (const _ of decoder.emitFrames(c)) assert.ok(decoder.bufferedBytes <= bound);
      assert.ok(decoder.bufferedBytes <= bound, `${decoder.bufferedBytes} bytes buffered`);
    }
  } catch (err) {
    if (!(err instanceof WireError)) throw err;
  }
}

function header(type: number, flags: number, length: number): Buffer {
  const buf = Buffer.alloc(HEADER_LENGTH);
  buf.writeUInt8(type, 0);
  buf.writeUInt8(flags, 1);
  buf.writeUInt32BE(length, 2);
  return buf;
}

const code = (code: string) => (err: unknown) => err instanceof WireError && err.code === code;

test('random bytes, in random chunks, only ever give WireError and a bounded buffer', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 4000 }),
      fc.array(fc.nat(), { minLength: 1, maxLength: 20 }),
      (raw, sizes) => {
        survive(new FrameDecoder(), chunk(Buffer.from(raw), sizes), HEADER_LENGTH + MAX_DATA_BODY);
      },
    ),
    { numRuns: 500 },
  );
});

test('valid headers with random bodies, and mutated valid streams: no crash, bounded buffer', () => {
  const maxDataBody = 300;
  const bound = HEADER_LENGTH + Math.max(maxDataBody, MAX_CONTROL_BODY);
  const headed = fc
    .tuple(
      fc.integer({ min: 0, max: 8 }),
      fc.constantFrom(0, 1, 2),
      fc.integer({ min: 0, max: 1100 }),
    )
    .chain(([type, flags, length]) =>
      fc
        .uint8Array({ minLength: length, maxLength: length })
        .map((body) => Buffer.concat([header(type, flags, length), body])),
    );
  const mutated = fc
    .tuple(
      fc.array(frame, { minLength: 1, maxLength: 5 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
    )
    .map(([frames, flips]) => {
      const bytes = Buffer.concat(frames.flatMap((f) => encodeFrame(f)));
      for (const [at, value] of flips) bytes[at % bytes.length] = value;
      return bytes;
    });
  fc.assert(
    fc.property(
      fc.array(fc.oneof(headed, mutated), { minLength: 1, maxLength: 5 }),
      fc.array(fc.nat(), { minLength: 1, maxLength: 20 }),
      (parts, sizes) => {
        const decoder = new FrameDecoder({ maxDataBody });
        survive(decoder, chunk(Buffer.concat(parts), sizes), bound);
      },
    ),
    { numRuns: 500 },
  );
});

test('an oversize length is rejected from the header alone', () => {
  const cases: [number, number][] = [
    [FrameType.DATA, MAX_DATA_BODY + 1],
    [FrameType.DATA, 0xffff_ffff],
    [FrameType.HELLO, MAX_CONTROL_BODY + 1],
    [FrameType.PING, MAX_CONTROL_BODY + 1],
    [FrameType.ERROR, 0xffff_ffff],
  ];
  for (const [type, length] of cases) {
    assert.throws(
      () => [...new FrameDecoder().emitFrames(header(type, 0, length))],
      code('ROAM_WIRE_TOO_LARGE'),
    );
  }
});

test('the largest DATA frame is streamed: nothing is held beyond its header and fixed fields', () => {
  const decoder = new FrameDecoder();
  const first = header(FrameType.DATA, 0, MAX_DATA_BODY);
  assert.deepEqual([...decoder.emitFrames(first)], []);
  assert.equal(decoder.bufferedBytes, HEADER_LENGTH);
  const piece = Buffer.alloc(64 * 1024);
  let fed = 0;
  let delivered = 0;
  while (fed + piece.length < MAX_DATA_BODY) {
    for (const f of decoder.emitFrames(piece)) if (f.type === 'data') delivered += f.payload.length;
    fed += piece.length;
    assert.equal(decoder.bufferedBytes, 0);
  }
  assert.equal(delivered, fed - 16, 'every payload byte so far was handed on');
  const frames = [...decoder.emitFrames(Buffer.alloc(MAX_DATA_BODY - fed + 3))];
  assert.equal(frames.length, 1);
  assert.equal(frames[0]?.type === 'data' && frames[0].more, undefined, 'the last piece');
  assert.equal(decoder.bufferedBytes, 3, 'only the start of the next header is kept');
});

test('wrong lengths for fixed-size frames are malformed, from the header', () => {
  const cases: [number, number][] = [
    [FrameType.WELCOME, 126],
    [FrameType.ACK, 11],
    [FrameType.PING, 0],
    [FrameType.PONG, 5],
    [FrameType.DATA, 15],
    [FrameType.ERROR, 1],
    [FrameType.ERROR, 2 + 513],
    [FrameType.HELLO, 4],
    [FrameType.PATH_STATUS, 7],
    [FrameType.PATH_STATUS, 16],
  ];
  for (const [type, length] of cases) {
    assert.throws(
      () => [...new FrameDecoder().emitFrames(header(type, 0, length))],
      code('ROAM_WIRE_MALFORMED'),
      `type ${type} length ${length}`,
    );
  }
});

test('unknown types are rejected', () => {
  for (const type of [0x00, 0x0c, 0x47, 0xff]) {
    assert.throws(
      () => [...new FrameDecoder().emitFrames(header(type, 0, 4))],
      code('ROAM_WIRE_TYPE'),
    );
  }
});

test('nonzero reserved flag bits are rejected for every type', () => {
  for (const type of Object.values(FrameType)) {
    for (let bit = 0; bit < 8; bit++) {
      if (type === FrameType.DATA && bit === 0) continue;
      const h = header(type, 1 << bit, type === FrameType.DATA ? 16 : 4);
      assert.throws(() => [...new FrameDecoder().emitFrames(h)], code('ROAM_WIRE_MALFORMED'));
    }
  }
});

const helloBody = (frame: Frame) => Buffer.concat(encodeFrame(frame)).subarray(HEADER_LENGTH);
const aHello: Frame = {
  type: 'hello',
  mode: 'new',
  pathId: 0,
  connId: Buffer.alloc(16, 1),
  nonce: Buffer.alloc(16, 2),
  keyShare: Buffer.alloc(32, 3),
  counter: 0,
  received: 0,
  recvWindow: 1,
  controlAddr: null,
  proof: Buffer.alloc(32),
};

test('a HELLO of another version, of any length, gives ROAM_WIRE_VERSION', () => {
  for (const [version, length] of [
    [1, 137],
    [3, 300],
    [0, 5],
    [255, 40],
  ] as const) {
    const body = Buffer.alloc(length);
    Buffer.from('ROAM').copy(body);
    body[4] = version;
    const bytes = Buffer.concat([header(FrameType.HELLO, 0, length), body]);
    assert.throws(() => [...new FrameDecoder().emitFrames(bytes)], code('ROAM_WIRE_VERSION'));
  }
});

test('a HELLO with the wrong magic gives ROAM_WIRE_MAGIC', () => {
  const body = helloBody(aHello);
  body.write('RAOM', 0, 'latin1');
  const bytes = Buffer.concat([header(FrameType.HELLO, 0, body.length), body]);
  assert.throws(() => [...new FrameDecoder().emitFrames(bytes)], code('ROAM_WIRE_MAGIC'));
});

test('HELLO fields that contradict the mode, and bad addresses, are malformed', () => {
  const mutations: [string, (b: Buffer) => void][] = [
    ['mode 2', (b) => (b[5] = 2)],
    ['new with a counter', (b) => b.writeUInt32BE(1, 72)],
    ['new with a proof', (b) => (b[136] = 1)],
    ['attach with a keyShare', (b) => (b[5] = 1)],
    ['address family 5', (b) => (b[86] = 5)],
    ['address none with a port', (b) => b.writeUInt16BE(80, 86 + 17)],
    ['IPv4 with port 0', (b) => (b[86] = 4)],
    ['IPv4 with padding', (b) => ((b[86] = 4), (b[91] = 1), b.writeUInt16BE(80, 86 + 17))],
  ];
  for (const [name, mutate] of mutations) {
    const body = helloBody(aHello);
    mutate(body);
    const bytes = Buffer.concat([header(FrameType.HELLO, 0, body.length), body]);
    assert.throws(
      () => [...new FrameDecoder().emitFrames(bytes)],
      code('ROAM_WIRE_MALFORMED'),
      name,
    );
  }
});

test('a DATA frame that would run past sequence 2^48 - 1 is malformed', () => {
  const past = [
    hex('03 01 00000011  ffffffffffff 000000000000 00000000 aa'),
    hex('03 00 00000012  ffffffffffff 000000000000 00000000 aabb'),
  ];
  for (const bytes of past) {
    assert.throws(() => [...new FrameDecoder().emitFrames(bytes)], code('ROAM_WIRE_MALFORMED'));
  }
  const last = [
    hex('03 00 00000011  ffffffffffff 000000000000 00000000 aa'),
    hex('03 01 00000010  ffffffffffff 000000000000 00000000'),
  ];
  for (const bytes of last) assert.equal([...new FrameDecoder().emitFrames(bytes)].length, 1);
});
