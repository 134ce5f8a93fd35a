import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isRoamError, type RoamErrorCode } from '../../src/errors.js';
import { SendBuffer } from '../../src/stream/send-buffer.js';
import { MAX_SEQ } from '../../src/stream/seq.js';

const b = (s: string) => Buffer.from(s);
const text = (pieces: Buffer[]) => Buffer.concat(pieces).toString();
const code = (c: RoamErrorCode) => (err: unknown) => isRoamError(err, c);

test('a new buffer is empty at its start sequence number', () => {
  const buf = new SendBuffer(10, 500);
  assert.equal(buf.limit, 10);
  assert.equal(buf.startSeq, 500);
  assert.equal(buf.endSeq, 500);
  assert.equal(buf.size, 0);
  assert.equal(buf.full, false);
  assert.deepEqual(buf.slices(500, 100), []);
  assert.equal(new SendBuffer(1).startSeq, 0);
});

test('limit and startSeq are validated', () => {
  for (const limit of [0, -1, 1.5, NaN, Infinity])
    assert.throws(() => new SendBuffer(limit), code('ROAM_BAD_INPUT'), String(limit));
  for (const start of [-1, 0.5, MAX_SEQ + 1])
    assert.throws(() => new SendBuffer(10, start), code('ROAM_BAD_INPUT'), String(start));
});

test('append moves endSeq and size; full is size >= limit; one chunk may overshoot', () => {
  const buf = new SendBuffer(10);
  buf.append(b('hello'));
  assert.deepEqual([buf.endSeq, buf.size, buf.full], [5, 5, false]);
  buf.append(b('abcd'));
  assert.deepEqual([buf.size, buf.full], [9, false]);
  buf.append(b('X'));
  assert.deepEqual([buf.size, buf.full], [10, true]);
  buf.append(b('over the limit'));
  assert.deepEqual([buf.size, buf.full], [24, true]);
  buf.append(Buffer.alloc(0)); // empty chunks are ignored
  assert.equal(buf.endSeq, 24);
  assert.throws(() => buf.append('str' as unknown as Buffer), code('ROAM_BAD_INPUT'));
});

test('ack frees whole and partial chunks and returns the bytes freed', () => {
  const buf = new SendBuffer(100, 10);
  buf.append(b('abc')); // 10..13
  buf.append(b('defg')); // 13..17
  buf.append(b('hi')); // 17..19
  assert.equal(buf.ack(12), 2);
  assert.equal(buf.startSeq, 12);
  assert.equal(text(buf.slices(12, Infinity)), 'cdefghi');
  assert.equal(buf.ack(17), 5);
  assert.equal(text(buf.slices(17, Infinity)), 'hi');
  assert.equal(buf.size, 2);
  assert.equal(buf.ack(19), 2);
  assert.deepEqual([buf.startSeq, buf.endSeq, buf.size], [19, 19, 0]);
  buf.append(b('jk'));
  assert.equal(text(buf.slices(19, 10)), 'jk');
});

test('a stale ack frees nothing; an ack of bytes never sent is a protocol error', () => {
  const buf = new SendBuffer(100);
  buf.append(b('abcdef'));
  assert.equal(buf.ack(4), 4);
  assert.equal(buf.ack(2), 0);
  assert.equal(buf.ack(4), 0);
  assert.equal(buf.startSeq, 4);
  assert.throws(
    () => buf.ack(7),
    (err: unknown) => isRoamError(err, 'ROAM_PROTOCOL') && /never sent/.test(err.message),
  );
  assert.equal(buf.startSeq, 4);
  assert.equal(buf.ack(6), 2); // the exact end is fine
  assert.throws(() => buf.ack(-1), code('ROAM_BAD_INPUT'));
  assert.throws(() => buf.ack(5.5), code('ROAM_BAD_INPUT'));
});

test('slices are zero-copy views, cut at fromSeq and maxBytes', () => {
  const one = b('0123456789');
  const two = b('abcdefghij');
  const buf = new SendBuffer(100);
  buf.append(one);
  buf.append(two);
  const whole = buf.slices(0, Infinity);
  assert.equal(whole.length, 2);
  assert.equal(whole[0], one); // the stored Buffer itself
  assert.equal(whole[1], two);
  const cut = buf.slices(7, 6);
  assert.equal(text(cut), '789abc');
  assert.equal(cut[0]?.buffer, one.buffer); // views of the same memory
  assert.equal(cut[0]?.byteOffset, one.byteOffset + 7);
  one[8] = 'X'.charCodeAt(0);
  assert.equal(text(cut), '7X9abc');
  assert.deepEqual(buf.slices(10, 3), [b('abc')]); // from a chunk boundary: one piece
  assert.equal(text(buf.slices(3, 2)), '34');
  assert.deepEqual(buf.slices(5, 0), []);
  assert.deepEqual(buf.slices(20, 10), []); // at endSeq: nothing yet
});

test('slices outside [startSeq, endSeq] are protocol errors; bad maxBytes is bad input', () => {
  const buf = new SendBuffer(100, 100);
  buf.append(b('abcdef'));
  buf.ack(103);
  assert.throws(() => buf.slices(102, 1), code('ROAM_PROTOCOL'));
  assert.throws(() => buf.slices(107, 1), code('ROAM_PROTOCOL'));
  assert.equal(text(buf.slices(103, 10)), 'def');
  for (const max of [-1, NaN, 1.5])
    assert.throws(() => buf.slices(103, max), code('ROAM_BAD_INPUT'), String(max));
});

test('appending past the 48-bit sequence space fails with ROAM_SEQ_EXHAUSTED', () => {
  const buf = new SendBuffer(100, MAX_SEQ - 3);
  buf.append(b('abc'));
  assert.equal(buf.endSeq, MAX_SEQ);
  assert.throws(() => buf.append(b('d')), code('ROAM_SEQ_EXHAUSTED'));
  assert.equal(buf.endSeq, MAX_SEQ);
});

test('many small chunks: acking in steps compacts the deque and keeps content right', () => {
  const buf = new SendBuffer(1 << 20);
  const n = 5000;
  for (let i = 0; i < n; i++) buf.append(Buffer.from([i & 0xff]));
  for (let seq = 0; seq < n; seq += 7) {
    buf.ack(seq);
    const got = buf.slices(seq, 3);
    const want = [seq, seq + 1, seq + 2].filter((s) => s < n).map((s) => s & 0xff);
    assert.deepEqual([...Buffer.concat(got)], want, `at ${seq}`);
  }
  buf.ack(n);
  assert.equal(buf.size, 0);
});

/** A uniform fraction in [0, 1] (fc.double favours 0 and 1, which hides cases). */
const fraction = fc.integer({ min: 0, max: 1000 }).map((n) => n / 1000);

// Model-based: the buffer behaves like a plain byte array of everything appended.
type Op =
  | { kind: 'append'; bytes: Uint8Array }
  | { kind: 'ack'; at: number }
  | { kind: 'slices'; at: number; max: number; boundary: boolean };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ maxLength: 40 }) }),
  fc.record({ kind: fc.constant('ack' as const), at: fraction }),
  fc.record({
    kind: fc.constant('slices' as const),
    at: fraction,
    max: fc.oneof(fc.constant(0), fc.nat(60)),
    boundary: fc.boolean(), // resend from where a chunk starts, a case worth hitting often
  }),
);

test('property: any sequence of append/ack/slices matches a byte-array model', () => {
  fc.assert(
    fc.property(
      fc.nat(1000),
      fc.integer({ min: 1, max: 100 }),
      fc.array(op, { maxLength: 80 }),
      (start, limit, ops) => {
        const buf = new SendBuffer(limit, start);
        const stream: number[] = []; // stream[i] is the byte at seq start + i
        const starts: number[] = []; // seq of every stored chunk
        let acked = start;
        for (const o of ops) {
          const end = start + stream.length;
          if (o.kind === 'append') {
            if (o.bytes.length > 0) starts.push(end);
            buf.append(Buffer.from(o.bytes));
            stream.push(...o.bytes);
          } else if (o.kind === 'ack') {
            const seq = acked + Math.floor(o.at * (end - acked));
            assert.equal(buf.ack(seq), seq - acked);
            acked = seq;
          } else {
            const edges = [...starts.filter((x) => x >= acked), end];
            const from = o.boundary
              ? (edges[Math.floor(o.at * (edges.length - 1))] ?? end)
              : acked + Math.floor(o.at * (end - acked));
            const got = buf.slices(from, o.max);
            assert.ok(
              got.every((p) => p.length > 0),
              'no empty pieces',
            );
            const want = stream.slice(from - start, Math.min(end, from + o.max) - start);
            assert.deepEqual([...Buffer.concat(got)], want);
          }
          assert.equal(buf.startSeq, acked);
          assert.equal(buf.endSeq, start + stream.length);
          assert.equal(buf.size, buf.endSeq - buf.startSeq);
          assert.equal(buf.full, buf.size >= limit);
        }
      },
    ),
  );
});
