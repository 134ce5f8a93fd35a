import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isRoamError, type RoamErrorCode } from '../../src/errors.js';
import { ReceiveBuffer } from '../../src/stream/receive-buffer.js';
import { MAX_SEQ } from '../../src/stream/seq.js';

const b = (s: string) => Buffer.from(s);
const text = (pieces: Buffer[]) => pieces.map((p) => p.toString()).join('|');
const code = (c: RoamErrorCode) => (err: unknown) => isRoamError(err, c);

test('in-order data is delivered at once, as the same Buffer', () => {
  const rb = new ReceiveBuffer(100, 1000);
  const payload = b('hello');
  const out = rb.insert(1000, payload);
  assert.equal(out.length, 1);
  assert.equal(out[0], payload);
  assert.equal(rb.nextSeq, 1005);
  assert.equal(rb.buffered, 0);
  assert.equal(new ReceiveBuffer(1).nextSeq, 0);
});

test('out-of-order data is held until the gap fills, then delivered in order', () => {
  const rb = new ReceiveBuffer(100);
  assert.deepEqual(rb.insert(6, b('world')), []);
  assert.deepEqual(rb.insert(12, b('!')), []);
  assert.deepEqual([rb.nextSeq, rb.buffered, rb.segments], [0, 6, 2]);
  assert.equal(text(rb.insert(0, b('hello '))), 'hello |world');
  assert.deepEqual([rb.nextSeq, rb.buffered, rb.segments], [11, 1, 1]);
  assert.equal(text(rb.insert(11, b('?'))), '?|!');
  assert.deepEqual([rb.nextSeq, rb.buffered, rb.segments], [13, 0, 0]);
});

test('data wholly before nextSeq is ignored; a partial resend delivers only the new tail', () => {
  const rb = new ReceiveBuffer(100);
  rb.insert(0, b('abcdef'));
  assert.deepEqual(rb.insert(0, b('abcdef')), []);
  assert.deepEqual(rb.insert(2, b('cd')), []);
  assert.deepEqual(rb.insert(6, Buffer.alloc(0)), []);
  assert.equal(text(rb.insert(4, b('efghi'))), 'ghi');
  assert.equal(rb.nextSeq, 9);
});

test('overlapping out-of-order segments are trimmed: held bytes are never held twice', () => {
  const rb = new ReceiveBuffer(100);
  rb.insert(10, b('KLMN')); // 10..14
  rb.insert(20, b('UV')); // 20..22
  assert.equal(rb.buffered, 6);
  rb.insert(12, b('MNOPQRSTUVWX')); // 12..24 overlaps both: only 14..20 and 22..24 are new
  assert.deepEqual([rb.buffered, rb.segments], [14, 4]);
  rb.insert(10, b('KLMN')); // exact duplicate
  rb.insert(11, b('L')); // inside a held segment
  assert.deepEqual([rb.buffered, rb.segments], [14, 4]);
  rb.insert(5, b('FGHIJKLMNOPQRSTUVWXYZ')); // 5..26 covers everything held
  assert.deepEqual([rb.buffered, rb.segments], [21, 6]);
  assert.equal(text(rb.insert(0, b('ABCDE'))), 'ABCDE|FGHIJ|KLMN|OPQRST|UV|WX|YZ');
  assert.deepEqual([rb.nextSeq, rb.buffered, rb.segments], [26, 0, 0]);
});

test('an in-order payload that overlaps held data delivers the held remainder once', () => {
  const rb = new ReceiveBuffer(100);
  rb.insert(4, b('efgh')); // 4..8
  rb.insert(10, b('kl')); // 10..12
  rb.insert(14, b('op')); // 14..16
  assert.equal(text(rb.insert(0, b('abcdefghij'))), 'abcdefghij|kl'); // covers 4..8 wholly
  assert.deepEqual([rb.nextSeq, rb.buffered], [12, 2]);
  assert.equal(text(rb.insert(12, b('mnopq'))), 'mnopq'); // covers 14..16
  assert.deepEqual([rb.nextSeq, rb.buffered, rb.segments], [17, 0, 0]);
});

test('the window: bytes at or beyond nextSeq + limit are a protocol error', () => {
  const rb = new ReceiveBuffer(10, 100);
  assert.deepEqual(rb.insert(105, b('abcde')), []); // bytes 105..109: the last one allowed
  assert.throws(
    () => rb.insert(105, b('abcdef')), // byte 110
    (err: unknown) =>
      isRoamError(err, 'ROAM_PROTOCOL') && /beyond the receive window/.test(err.message),
  );
  assert.throws(() => rb.insert(110, b('x')), code('ROAM_PROTOCOL'));
  assert.throws(() => rb.insert(98, b('abcdefghijklm')), code('ROAM_PROTOCOL')); // old start, far end
  assert.equal(rb.buffered, 5); // nothing from the rejected inserts was kept
  rb.insert(100, b('01234'));
  assert.equal(rb.nextSeq, 110);
  assert.deepEqual(rb.insert(119, b('z')), []); // the window moved with nextSeq
});

test('arguments are validated', () => {
  for (const limit of [0, -5, 2.5, NaN])
    assert.throws(() => new ReceiveBuffer(limit), code('ROAM_BAD_INPUT'), String(limit));
  assert.throws(() => new ReceiveBuffer(10, -1), code('ROAM_BAD_INPUT'));
  const rb = new ReceiveBuffer(10);
  assert.throws(() => rb.insert(-1, b('a')), code('ROAM_BAD_INPUT'));
  assert.throws(() => rb.insert(0.5, b('a')), code('ROAM_BAD_INPUT'));
  assert.throws(() => rb.insert(0, 'a' as unknown as Buffer), code('ROAM_BAD_INPUT'));
});

test('data past the 48-bit sequence space is a protocol error', () => {
  const rb = new ReceiveBuffer(100, MAX_SEQ - 2);
  assert.equal(text(rb.insert(MAX_SEQ - 2, b('ab'))), 'ab');
  assert.equal(rb.nextSeq, MAX_SEQ);
  assert.throws(() => rb.insert(MAX_SEQ, b('cd')), code('ROAM_PROTOCOL'));
});

test('many tiny holes: filling them delivers everything once, in order', () => {
  const n = 3000; // more segments than one splice spreads, to take the rebuild path too
  const stream = Buffer.from(Array.from({ length: 2 * n + 10 }, (_, i) => i & 0xff));
  const rb = new ReceiveBuffer(stream.length + 1);
  for (let i = 1; i < 2 * n; i += 2) assert.deepEqual(rb.insert(i, stream.subarray(i, i + 1)), []);
  rb.insert(2 * n + 5, stream.subarray(2 * n + 5)); // one held segment beyond the next insert
  assert.deepEqual([rb.segments, rb.buffered], [n + 1, n + 5]);
  rb.insert(1, stream.subarray(1, 2 * n)); // spans all holes but the first: fills 2..2n-2
  assert.deepEqual([rb.segments, rb.buffered], [2 * n, 2 * n + 4]);
  const out = rb.insert(0, stream.subarray(0, 1));
  assert.deepEqual(Buffer.concat(out), stream.subarray(0, 2 * n));
  assert.deepEqual(Buffer.concat(rb.insert(2 * n, stream.subarray(2 * n))), stream.subarray(2 * n));
  assert.deepEqual([rb.nextSeq, rb.buffered, rb.segments], [stream.length, 0, 0]);
});

/** A uniform fraction in [0, 1] (fc.double favours 0 and 1, which hides cases). */
const fraction = fc.integer({ min: 0, max: 1000 }).map((n) => n / 1000);

// The property the session depends on: whatever the network does to segments (within the
// window), the application sees the stream exactly once, in order.
test('property: any split, order, duplicates and overlaps deliver the stream exactly', () => {
  const scenario = fc.record({
    stream: fc.uint8Array({ minLength: 1, maxLength: 300 }),
    start: fc.nat(1_000_000),
    limit: fc.integer({ min: 1, max: 120 }),
    // Extra segments (duplicates, overlaps): a start as a fraction of the stream, a length.
    extra: fc.array(fc.tuple(fraction, fc.nat(80)), {
      maxLength: 30,
    }),
    cuts: fc.array(fraction, { maxLength: 30 }),
  });
  fc.assert(
    fc.property(scenario, fc.infiniteStream(fc.nat()), (s, picks) => {
      const { stream, start, limit } = s;
      const n = stream.length;
      // A split of the whole stream, plus arbitrary overlapping extras (duplicates).
      const points = [...new Set([0, n, ...s.cuts.map((c) => Math.floor(c * n))])].sort(
        (a, b) => a - b,
      );
      const segs: [number, number][] = [];
      for (let i = 1; i < points.length; i++) segs.push([points[i - 1] ?? 0, points[i] ?? 0]);
      for (const [at, len] of s.extra) {
        const from = Math.floor(at * n);
        segs.push([from, Math.min(n, from + len)]);
      }
      const rb = new ReceiveBuffer(limit, start);
      const delivered: Buffer[] = [];
      const pending = [...segs];
      const it = picks[Symbol.iterator]();
      // A network that reorders and duplicates, but sends only inside the window (as a
      // correct sender does): pick any pending segment, clipped to the window.
      for (let step = 0; pending.length > 0; step++) {
        assert.ok(step < 100_000, 'the transfer finishes');
        const k = (it.next().value as number) % pending.length;
        const seg = pending[k];
        if (seg === undefined) break;
        const [from, to] = seg;
        const edge = rb.nextSeq - start + limit; // first offset outside the window
        const clippedTo = Math.min(to, edge);
        if (clippedTo > from) {
          const out = rb.insert(start + from, Buffer.from(stream.subarray(from, clippedTo)));
          assert.ok(
            out.every((p) => p.length > 0),
            'no empty pieces',
          );
          delivered.push(...out);
        }
        if (clippedTo >= to) pending.splice(k, 1); // else it stays, to be sent again later
        // The split segment holding nextSeq is pending and starts inside the window, so the
        // transfer always progresses; this guards the test itself against looping forever.
        const edgeNow = rb.nextSeq - start + limit;
        assert.ok(pending.length === 0 || pending.some(([f]) => f < edgeNow), 'not stuck');
        assert.ok(rb.buffered < limit, `buffered ${rb.buffered} < limit ${limit}`);
        assert.equal(
          Buffer.concat(delivered).length,
          rb.nextSeq - start,
          'delivered bytes = nextSeq',
        );
      }
      assert.deepEqual(Buffer.concat(delivered), Buffer.from(stream));
      assert.equal(rb.nextSeq, start + n);
      assert.equal(rb.buffered, 0);
      assert.equal(rb.segments, 0);
    }),
    { numRuns: 300 },
  );
});
