import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { test } from 'node:test';
import fc from 'fast-check';
import { type SseEvent, SseParser } from '../../src/names/client/sse-parser.js';
import { formatEvent, SseStream } from '../../src/names/http/sse.js';

function parseAll(chunks: string[]): { events: SseEvent[]; parser: SseParser } {
  const parser = new SseParser();
  const events: SseEvent[] = [];
  for (const c of chunks) events.push(...parser.push(c));
  return { events, parser };
}

test('sse parser: fields, comments, multi-line data, the three line endings', () => {
  const text =
    ': hello\r\nretry: 1000\r\nevent: put\rid: s.1\ndata: {"a":\ndata:1}\n\ndata: plain\n\nid: s.2\n\n';
  const { events, parser } = parseAll([text]);
  assert.deepEqual(events, [
    { event: 'put', data: '{"a":\n1}', id: 's.1' },
    { event: 'message', data: 'plain', id: 's.1' },
  ]);
  assert.equal(parser.lastEventId, 's.2', 'an id-only block still moves the last event id');
  assert.equal(parser.retryMs, 1000);
});

test('sse parser: an event cut off by the end of the stream is dropped, and its id not taken', () => {
  const { events, parser } = parseAll([
    'event: put\nid: s.1\ndata: 1\n\nevent: put\nid: s.2\ndata: 2\n',
  ]);
  assert.equal(events.length, 1);
  parser.reset();
  assert.equal(parser.lastEventId, 's.1');
  assert.deepEqual(
    [...parser.push('data: after\n\n')],
    [{ event: 'message', data: 'after', id: 's.1' }],
  );
});

test('sse parser: any chunking of a stream gives the same events (CRLF split across chunks too)', () => {
  const events = [
    { event: 'put', data: '{"revision":1,"x":"é\\u2028"}', id: 'a.1' },
    { event: 'sync', data: '{"revision":1}', id: 'a.1' },
    { event: 'delete', data: 'two\nlines', id: 'a.3' },
  ];
  fc.assert(
    fc.property(
      fc.constantFrom('\n', '\r\n', '\r'),
      fc.array(fc.nat(), { maxLength: 12 }),
      (eol, cuts) => {
        const text = events
          .map((e) => formatEvent(e.event, e.data, e.id).replaceAll('\n', eol))
          .join(`:keepalive${eol}${eol}`);
        const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        const chunks: string[] = [];
        let at = 0;
        for (const p of [...points, text.length]) {
          chunks.push(text.slice(at, p), ''); // empty chunks change nothing
          at = p;
        }
        assert.deepEqual(parseAll(chunks).events, events);
      },
    ),
    { numRuns: 300 },
  );
});

class FakeResponse extends EventEmitter {
  writableLength = 0;
  written: string[] = [];
  destroyed = false;
  ended = false;
  writeHead() {
    return this;
  }
  write(s: string) {
    this.written.push(s);
    return true;
  }
  end() {
    this.ended = true;
  }
  destroy() {
    this.destroyed = true;
  }
}

test('sse stream: a watcher that stops reading is cut, not buffered without bound', (t) => {
  const res = new FakeResponse();
  let closed = 0;
  const s = new SseStream(
    res as unknown as ServerResponse,
    { keepaliveMs: 60_000, maxBufferedBytes: 100, retryMs: 500 },
    () => closed++,
  );
  t.after(() => s.close());
  assert.equal(res.written[0], 'retry: 500\n\n');
  s.send('put', 'x', 'id.1');
  assert.equal(res.written[1], 'event: put\nid: id.1\ndata: x\n\n');
  res.writableLength = 101;
  s.send('put', 'y', 'id.2');
  assert.equal(res.destroyed, true);
  assert.equal(closed, 1);
  s.send('put', 'z', 'id.3');
  assert.equal(res.written.length, 3, 'nothing is written after the cut');
});
