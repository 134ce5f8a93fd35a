import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isRoamError } from '../../src/errors.js';
import { FrameDecoder } from '../../src/wire/decoder.js';
import { encodeFrame } from '../../src/wire/encode.js';
import { type DataFrame, type Frame, HEADER_LENGTH } from '../../src/wire/frame.js';
import { chunk, frame } from './arbitraries.js';

const encode = (frames: Frame[]) => Buffer.concat(frames.flatMap((f) => encodeFrame(f)));

function feed(decoder: FrameDecoder, chunks: Buffer[]): Frame[] {
  const out: Frame[] = [];
  for (const c of chunks) for (const f of decoder.emitFrames(c)) out.push(f);
  return out;
}

/** Joins the pieces of streamed DATA frames (`more: true`) back into whole frames. */
function coalesce(frames: Frame[]): Frame[] {
  const out: Frame[] = [];
  let open: (Frame & { type: 'data' }) | undefined;
  for (const f of frames) {
    if (open) {
      assert.ok(f.type === 'data', 'a streamed DATA frame is followed by its next piece');
      assert.equal(f.seq, open.seq + open.payload.length, 'pieces continue the sequence');
      assert.ok(!open.fin, 'only the last piece carries FIN');
      open = { ...open, payload: Buffer.concat([open.payload, f.payload]), fin: f.fin };
    } else if (f.type === 'data') {
      open = { ...f };
    } else {
      out.push(f);
      continue;
    }
    if (!f.more) {
      delete open.more;
      out.push(open);
      open = undefined;
    }
  }
  assert.equal(open, undefined, 'a streamed DATA frame was left unfinished');
  return out;
}

const sample: Frame[] = [
  { type: 'ping', id: 1 },
  { type: 'data', seq: 0, ack: 0, window: 9, fin: false, payload: Buffer.from('abcdefgh') },
  { type: 'ack', ack: 8, window: 100 },
  { type: 'data', seq: 8, ack: 0, window: 9, fin: true, payload: Buffer.alloc(0) },
  { type: 'error', code: 9, reason: 'bye' },
];

test('chaos chunking: any split of a stream gives the same frames', () => {
  fc.assert(
    fc.property(
      fc.array(frame, { minLength: 1, maxLength: 30 }),
      fc.array(fc.nat(), { minLength: 1, maxLength: 50 }),
      (frames, sizes) => {
        const bytes = encode(frames);
        const decoder = new FrameDecoder();
        assert.deepEqual(coalesce(feed(decoder, chunk(bytes, sizes))), frames);
        assert.equal(decoder.bufferedBytes, 0);
      },
    ),
    { numRuns: 300 },
  );
});

test('one byte at a time, and the whole stream at once', () => {
  const bytes = encode(sample);
  const ones = [...bytes].map((b) => Buffer.from([b]));
  assert.deepEqual(coalesce(feed(new FrameDecoder(), ones)), sample);
  assert.deepEqual(feed(new FrameDecoder(), [bytes]), sample);
});

test('truncation: a prefix yields no error and nothing but DATA pieces; the rest completes the frame', () => {
  fc.assert(
    fc.property(frame, (f) => {
      const bytes = encode([f]);
      for (let cut = 0; cut < bytes.length; cut++) {
        const decoder = new FrameDecoder();
        const head = feed(decoder, [bytes.subarray(0, cut)]);
        // Only a DATA frame past its 22-byte head streams a piece early; nothing else is emitted.
        if (f.type !== 'data' || cut <= HEADER_LENGTH + 16) assert.deepEqual(head, []);
        assert.ok(decoder.bufferedBytes <= cut);
        const all = [...head, ...feed(decoder, [bytes.subarray(cut)])];
        assert.deepEqual(coalesce(all), [f]);
        assert.equal(decoder.bufferedBytes, 0);
      }
    }),
    { numRuns: 60 },
  );
});

test('a DATA payload inside one chunk is a view of it, not a copy', () => {
  const payload = Buffer.from('0123456789');
  const bytes = unpooled(encode([{ type: 'ping', id: 3 }, dataFrame(payload)]));
  const [, data] = feed(new FrameDecoder(), [bytes]);
  assert.ok(data?.type === 'data');
  assert.equal(data.payload.buffer, bytes.buffer);
  assert.equal(data.payload.byteOffset, 10 + 22);
});

test('a DATA payload spanning chunks is streamed: views of each chunk, seq advancing, FIN last', () => {
  const bytes = encode([
    { ...(dataFrame(Buffer.from('0123456789')) as DataFrame), seq: 100, fin: true },
  ]);
  const first = unpooled(bytes.subarray(0, 25));
  const second = unpooled(bytes.subarray(25));
  const pieces = feed(new FrameDecoder(), [first, second]);
  assert.equal(pieces.length, 2);
  const [a, b] = pieces;
  assert.ok(a?.type === 'data' && b?.type === 'data');
  assert.deepEqual([a.seq, a.payload.toString(), a.fin, a.more], [100, '012', false, true]);
  assert.deepEqual([b.seq, b.payload.toString(), b.fin, b.more], [103, '3456789', true, undefined]);
  assert.equal(a.payload.buffer, first.buffer, 'no copy');
  assert.equal(b.payload.buffer, second.buffer, 'no copy');
});

test('a header split across chunks, body in the next chunk, is decoded in place', () => {
  const bytes = encode([dataFrame(Buffer.from('xyz'))]);
  const decoder = new FrameDecoder();
  assert.deepEqual(feed(decoder, [bytes.subarray(0, 3)]), []);
  const rest = unpooled(bytes.subarray(3));
  const [data] = feed(decoder, [rest]);
  assert.ok(data?.type === 'data');
  assert.equal(data.payload.buffer, rest.buffer);
});

test('zero-length DATA is fine, with or without FIN', () => {
  const frames = [dataFrame(Buffer.alloc(0)), { ...dataFrame(Buffer.alloc(0)), fin: true }];
  assert.deepEqual(feed(new FrameDecoder(), [encode(frames)]), frames);
});

test('after an error the decoder stays failed', () => {
  const decoder = new FrameDecoder();
  assert.throws(() => feed(decoder, [Buffer.from('ff0000000000', 'hex')]), {
    code: 'ROAM_WIRE_TYPE',
  });
  assert.throws(() => feed(decoder, [encode([{ type: 'ping', id: 1 }])]), {
    code: 'ROAM_WIRE_TYPE',
  });
});

test('frames before a bad one in the same chunk are still emitted', () => {
  const decoder = new FrameDecoder();
  const seen: Frame[] = [];
  const bytes = Buffer.concat([encode([{ type: 'ping', id: 1 }]), Buffer.from('0c80', 'hex')]);
  const bad = Buffer.concat([bytes, Buffer.alloc(4)]);
  assert.throws(
    () => {
      for (const f of decoder.emitFrames(bad)) seen.push(f);
    },
    { code: 'ROAM_WIRE_TYPE' },
  );
  assert.deepEqual(seen, [{ type: 'ping', id: 1 }]);
});

test('leaving a frame loop early fails the decoder instead of losing bytes silently', () => {
  const decoder = new FrameDecoder();
  for (const _ of decoder.emitFrames(encode(sample))) break;
  assert.throws(
    () => feed(decoder, [Buffer.alloc(1)]),
    (err) => isRoamError(err, 'ROAM_DECODER_ABANDONED'),
  );
});

test('maxDataBody: a smaller limit is enforced from the header; out-of-range limits refused', () => {
  const decoder = new FrameDecoder({ maxDataBody: 16 + 4 });
  assert.deepEqual(feed(decoder, [encode([dataFrame(Buffer.from('abcd'))])]).length, 1);
  const header = encode([dataFrame(Buffer.from('abcde'))]).subarray(0, HEADER_LENGTH);
  assert.throws(() => feed(decoder, [header]), { code: 'ROAM_WIRE_TOO_LARGE' });
  for (const maxDataBody of [15, 1024 * 1024 + 17, 1.5, Number.NaN]) {
    assert.throws(() => new FrameDecoder({ maxDataBody }), { code: 'ROAM_BAD_INPUT' });
  }
});

function dataFrame(payload: Buffer): Frame {
  return { type: 'data', seq: 1000, ack: 2000, window: 3000, fin: false, payload };
}

/** A copy in memory of its own: small Buffers share Node's pool, which hides copies. */
function unpooled(bytes: Buffer): Buffer {
  const out = Buffer.alloc(bytes.length);
  bytes.copy(out);
  return out;
}
