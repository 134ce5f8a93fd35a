import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeControl, encodeControl } from '../../src/wire/control.js';
import { encodedLength, encodeFrame } from '../../src/wire/encode.js';
import { type Frame } from '../../src/wire/frame.js';
import { control, data, decodeAll, frame } from './arbitraries.js';

test('every frame type decodes to what was encoded', () => {
  const seen = new Set<string>();
  fc.assert(
    fc.property(frame, (f) => {
      seen.add(f.type);
      const bytes = Buffer.concat(encodeFrame(f));
      assert.equal(bytes.length, encodedLength(f));
      assert.deepEqual(decodeAll(bytes), [f]);
    }),
    { numRuns: 900 },
  );
  assert.deepEqual([...seen].sort(), [
    'ack',
    'addresses',
    'data',
    'error',
    'hello',
    'path-ack',
    'path-status',
    'ping',
    'pong',
    'welcome',
  ]);
});

test('a sequence of frames decodes in order from one buffer', () => {
  fc.assert(
    fc.property(fc.array(frame, { maxLength: 20 }), (frames) => {
      const bytes = Buffer.concat(frames.flatMap((f) => encodeFrame(f)));
      assert.deepEqual(decodeAll(bytes), frames);
    }),
  );
});

test('DATA at the largest payload round-trips', () => {
  fc.assert(
    fc.property(data(0), (f: Frame) => {
      if (f.type !== 'data') return;
      const big = { ...f, seq: 0, payload: Buffer.alloc(1024 * 1024, 7) };
      assert.deepEqual(decodeAll(Buffer.concat(encodeFrame(big))), [big]);
    }),
    { numRuns: 3 },
  );
});

test('every control message decodes to what was encoded', () => {
  const seen = new Set<string>();
  fc.assert(
    fc.property(control, (m) => {
      seen.add(m.type);
      assert.deepEqual(decodeControl(encodeControl(m)), m);
    }),
    { numRuns: 300 },
  );
  assert.deepEqual([...seen].sort(), ['reconnect', 'reconnect-ack']);
});
