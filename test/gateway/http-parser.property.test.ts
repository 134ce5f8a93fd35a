import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { RequestParser } from '../../src/gateway/http/request-parser.js';
import { ResponseParser } from '../../src/gateway/http/response-parser.js';

const limits = { maxHeadBytes: 64 * 1024, maxHeaders: 100 };

interface Message {
  body: Uint8Array;
  chunked: boolean;
  /** Chunk sizes (chunked only); the last one takes whatever is left. */
  sizes: number[];
  extensions: boolean;
  trailers: [string, string][];
  /** Leading zeros and uppercase hex in chunk sizes. */
  zeros: number;
  upper: boolean;
}

const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,10}$/);
const message: fc.Arbitrary<Message> = fc.record({
  body: fc.uint8Array({ maxLength: 4000 }),
  chunked: fc.boolean(),
  sizes: fc.array(fc.integer({ min: 1, max: 700 }), { maxLength: 12 }),
  extensions: fc.boolean(),
  trailers: fc.array(fc.tuple(token, fc.stringMatching(/^[!-~]{0,12}$/)), { maxLength: 3 }),
  zeros: fc.integer({ min: 0, max: 3 }),
  upper: fc.boolean(),
});

function encodeBody(m: Message): Buffer {
  const body = Buffer.from(m.body);
  if (!m.chunked) return body;
  const parts: Buffer[] = [];
  let at = 0;
  for (const size of [...m.sizes, body.length]) {
    if (at >= body.length) break;
    const piece = body.subarray(at, Math.min(body.length, at + size));
    at += piece.length;
    let hex = piece.length.toString(16);
    if (m.upper) hex = hex.toUpperCase();
    const ext = m.extensions ? ';ext=1;q="a b"' : '';
    parts.push(Buffer.from(`${'0'.repeat(m.zeros)}${hex}${ext}\r\n`), piece, Buffer.from('\r\n'));
  }
  const trailers = m.trailers.map(([n, v]) => `${n}: ${v}\r\n`).join('');
  parts.push(Buffer.from(`0\r\n${trailers}\r\n`));
  return Buffer.concat(parts);
}

function drain(events: Iterable<unknown>): number {
  let n = 0;
  for (const _ of events) n++;
  return n;
}

function framingHeader(m: Message): string {
  return m.chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${m.body.length}`;
}

/** Cut `buf` at the given (sorted, deduplicated) offsets. */
function split(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, buf.length]) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  return out;
}

test('responses split at random boundaries parse to the same bodies and trailers', () => {
  fc.assert(
    fc.property(
      fc.array(message, { minLength: 1, maxLength: 3 }),
      fc.array(fc.nat(), { maxLength: 40 }),
      (messages, cuts) => {
        const wire = Buffer.concat(
          messages.flatMap((m) => [
            Buffer.from(`HTTP/1.1 200 OK\r\nETag: "e"\r\n${framingHeader(m)}\r\n\r\n`),
            encodeBody(m),
          ]),
        );
        const p = new ResponseParser(limits);
        for (const _ of messages) p.expect('GET');
        const bodies: Buffer[] = [];
        const trailers: string[][] = [];
        let current: Buffer[] = [];
        let offset = 0;
        for (const piece of split(wire, cuts)) {
          for (const ev of p.events(piece)) {
            if (ev.type === 'head') offset = 0;
            if (ev.type === 'body') {
              assert.equal(ev.offset, offset);
              offset += ev.data.length;
              current.push(Buffer.from(ev.data));
            }
            if (ev.type === 'end') {
              bodies.push(Buffer.concat(current));
              trailers.push(ev.trailers.map((t) => `${t.name}:${t.value}`));
              current = [];
            }
          }
        }
        assert.equal(bodies.length, messages.length);
        messages.forEach((m, i) => {
          assert.ok(Buffer.from(m.body).equals(bodies[i] ?? Buffer.alloc(0)));
          const want = m.chunked ? m.trailers.map(([n, v]) => `${n}:${v}`) : [];
          assert.deepEqual(trailers[i], want);
        });
        assert.ok(p.idle);
      },
    ),
    { numRuns: 500 },
  );
});

test('requests split at random boundaries parse to the same bodies', () => {
  fc.assert(
    fc.property(
      fc.array(message, { minLength: 1, maxLength: 3 }),
      fc.array(fc.nat(), { maxLength: 40 }),
      (messages, cuts) => {
        const wire = Buffer.concat(
          messages.flatMap((m) => [
            Buffer.from(`POST /u HTTP/1.1\r\nHost: h\r\n${framingHeader(m)}\r\n\r\n`),
            encodeBody(m),
          ]),
        );
        const p = new RequestParser(limits);
        const bodies: Buffer[] = [];
        let current: Buffer[] = [];
        for (const piece of split(wire, cuts)) {
          for (const ev of p.events(piece)) {
            if (ev.type === 'body') current.push(Buffer.from(ev.data));
            if (ev.type === 'end') {
              bodies.push(Buffer.concat(current));
              current = [];
            }
          }
        }
        assert.equal(bodies.length, messages.length);
        messages.forEach((m, i) =>
          assert.ok(Buffer.from(m.body).equals(bodies[i] ?? Buffer.alloc(0))),
        );
      },
    ),
    { numRuns: 300 },
  );
});

test('random bytes never crash the parsers: events or a RoamError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (bytes, asResponse) => {
      const input = Buffer.concat([
        Buffer.from(asResponse ? 'HTTP/1.1 200 OK\r\n' : 'GET / HTTP/1.1\r\n'),
        Buffer.from(bytes),
      ]);
      try {
        if (asResponse) {
          const p = new ResponseParser(limits);
          p.expect('GET');
          drain(p.events(input));
        } else {
          drain(new RequestParser(limits).events(input));
        }
      } catch (err) {
        assert.equal((err as { name?: string }).name, 'RoamError', String(err));
      }
    }),
    { numRuns: 2000 },
  );
});
