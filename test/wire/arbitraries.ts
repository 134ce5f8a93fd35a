import fc from 'fast-check';
import { type Addr, decodeAddr } from '../../src/wire/address.js';
import { type ControlMessage } from '../../src/wire/control.js';
import { FrameDecoder } from '../../src/wire/decoder.js';
import { type Frame, MAX_ERROR_REASON } from '../../src/wire/frame.js';

/** fast-check arbitraries for every wire message, and small helpers the wire tests share. */

export const U48_MAX = 2 ** 48 - 1;

export const bytes = (length: number): fc.Arbitrary<Buffer> =>
  fc.uint8Array({ minLength: length, maxLength: length }).map((a) => Buffer.from(a));

export const zeros = (length: number): Buffer => Buffer.alloc(length);

const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const u48 = fc.oneof(
  fc.integer({ min: 0, max: U48_MAX }),
  fc.constantFrom(0, 1, 2 ** 32, U48_MAX - 1, U48_MAX),
);
const port = fc.integer({ min: 1, max: 0xffff });

/** Addresses in the form decoding gives back (IPv6 is built from bytes by decodeAddr). */
export const addr: fc.Arbitrary<Addr> = fc.oneof(
  fc.record({ host: fc.ipV4(), port }).map((a) => ({ ...a })),
  fc.tuple(bytes(16), port).map(([raw, p]) => {
    const field = Buffer.concat([Buffer.from([6]), raw, Buffer.from([p >> 8, p & 0xff])]);
    const decoded = decodeAddr(field);
    if (decoded === null) throw new Error('unreachable');
    return decoded;
  }),
);
export const maybeAddr: fc.Arbitrary<Addr | null> = fc.option(addr, { nil: null });

const hello: fc.Arbitrary<Frame> = fc
  .record({
    mode: fc.constantFrom('new', 'attach', 'add'),
    pathId: u16,
    connId: bytes(16),
    nonce: bytes(16),
    keyShare: bytes(32),
    counter: u32,
    received: u48,
    recvWindow: u32,
    controlAddr: maybeAddr,
    proof: bytes(32),
  })
  .map(({ mode, ...f }) =>
    mode !== 'new'
      ? { type: 'hello', mode, ...f, keyShare: zeros(32) }
      : { type: 'hello', mode, ...f, counter: 0, proof: zeros(32) },
  );

const welcome: fc.Arbitrary<Frame> = fc.record({
  type: fc.constant('welcome'),
  pathId: u16,
  connId: bytes(16),
  nonce: bytes(16),
  keyShare: bytes(32),
  received: u48,
  recvWindow: u32,
  controlAddr: maybeAddr,
  proof: bytes(32),
});

export const data = (maxPayload = 2000): fc.Arbitrary<Frame> =>
  fc
    .record({
      seq: u48,
      ack: u48,
      window: u32,
      fin: fc.boolean(),
      payload: fc.uint8Array({ maxLength: maxPayload }).map((a) => Buffer.from(a)),
    })
    .map((f) => {
      const end = f.seq + f.payload.length + (f.fin ? 1 : 0);
      const seq = end > U48_MAX + 1 ? U48_MAX + 1 - f.payload.length - (f.fin ? 1 : 0) : f.seq;
      return { type: 'data', ...f, seq };
    });

const reason = fc
  .string({ unit: 'binary', maxLength: 200 })
  .filter((s) => Buffer.byteLength(s) <= MAX_ERROR_REASON);

export const frame: fc.Arbitrary<Frame> = fc
  .oneof(
    hello,
    welcome,
    data(),
    fc.record({ type: fc.constant('ack'), ack: u48, window: u32 }),
    fc.record({ type: fc.constant('ping'), id: u32 }),
    fc.record({ type: fc.constant('pong'), id: u32 }),
    fc.record({ type: fc.constant('error'), code: u16, reason }),
    fc.record({ type: fc.constant('path-ack'), ack: u48, window: u32, pathReceived: u48 }),
    fc.record({
      type: fc.constant('path-status'),
      pathId: u16,
      status: fc.constantFrom('active', 'backup', 'removed'),
      seq: fc.integer({ min: 0, max: 255 }),
      cost: u32,
    }),
    fc
      .array(addr, { maxLength: 16 })
      .map((addresses) => ({ type: 'addresses', addresses: addresses.map((a) => ({ ...a })) })),
  )
  .map((f) => ({ ...f })) as fc.Arbitrary<Frame>; // fc.record objects have a null prototype

export const control: fc.Arbitrary<ControlMessage> = fc
  .oneof(
    fc.record({
      type: fc.constant('reconnect'),
      connId: bytes(16),
      counter: u32,
      addr,
      proof: bytes(32),
    }),
    fc.record({
      type: fc.constant('reconnect-ack'),
      connId: bytes(16),
      counter: u32,
      proof: bytes(32),
    }),
  )
  .map((m) => ({ ...m })) as fc.Arbitrary<ControlMessage>;

/** Buffer from hex written with spaces and line breaks for reading. */
export function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

/** Decodes a buffer that holds whole frames, and checks nothing is left over. */
export function decodeAll(buf: Buffer): Frame[] {
  const decoder = new FrameDecoder();
  const frames = [...decoder.emitFrames(buf)];
  if (decoder.bufferedBytes !== 0) throw new Error(`${decoder.bufferedBytes} bytes left over`);
  return frames;
}

/** Splits buf into chunks of the given sizes (cycled, each clamped to 1..remaining). */
export function chunk(buf: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0, i = 0; off < buf.length; i++) {
    const size = 1 + ((sizes[i % sizes.length] ?? 0) % (buf.length - off));
    out.push(buf.subarray(off, off + size));
    off += size;
  }
  return out;
}
