import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RequestParser } from '../../src/gateway/http/request-parser.js';
import { ResponseParser } from '../../src/gateway/http/response-parser.js';
import type { RequestHead, ResponseHead } from '../../src/gateway/http/head.js';
import type { BodyFraming } from '../../src/gateway/http/body-decoder.js';
import {
  checkResumed,
  planResume,
  type ResumePlan,
  type ResumeTarget,
} from '../../src/gateway/http/resume.js';

const limits = { maxHeadBytes: 64 * 1024, maxHeaders: 100 };
const opts = { maxDiscardBytes: 1000 };
const DATE = 'Date: Tue, 01 Apr 2025 12:00:00 GMT';
const OLD = 'Last-Modified: Mon, 31 Mar 2025 12:00:00 GMT';

function request(text: string): RequestHead {
  for (const ev of new RequestParser(limits).events(Buffer.from(`${text}\r\n\r\n`))) {
    if (ev.type === 'head') return ev.head;
  }
  throw new Error('no request head');
}

function response(text: string, method = 'GET'): { head: ResponseHead; framing: BodyFraming } {
  const p = new ResponseParser(limits);
  p.expect(method);
  for (const ev of p.events(Buffer.from(`${text}\r\n\r\n`))) {
    if (ev.type === 'head' && ev.framing !== 'upgrade')
      return { head: ev.head, framing: ev.framing };
  }
  throw new Error('no response head');
}

const GET = 'GET /f HTTP/1.1\r\nHost: o\r\nUser-Agent: t\r\nIf-None-Match: "old"\r\nAccept: */*';
const OK = `HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nETag: "v1"\r\nAccept-Ranges: bytes\r\n${DATE}`;

function plan(req: string, res: string | undefined, delivered: number, hasBody = false) {
  return planResume(
    {
      request: request(req),
      requestHasBody: hasBody,
      response: res === undefined ? undefined : response(res).head,
      delivered,
    },
    opts,
  );
}

function rangeOf(p: ResumePlan): { text: string; target: ResumeTarget } {
  assert.equal(p.kind, 'range', JSON.stringify(p));
  if (p.kind !== 'range') throw new Error('unreachable');
  return { text: p.head.toString('latin1'), target: p.target };
}

test('a 200 resumes with Range: bytes=N- and If-Range: the ETag, other headers kept', () => {
  const { text, target } = rangeOf(plan(GET, OK, 300));
  assert.equal(
    text,
    'GET /f HTTP/1.1\r\nHost: o\r\nUser-Agent: t\r\nAccept: */*\r\n' +
      'Range: bytes=300-\r\nIf-Range: "v1"\r\n\r\n',
  );
  assert.deepEqual([target.first, target.last, target.total], [300, 999, 1000]);
});

test("the client's own range is rewritten: bytes=a-b becomes bytes=(a+N)-b", () => {
  const req = `${GET}\r\nRange: bytes=100-199\r\nIf-Range: "v1"`;
  const res = 'HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 100-199/1000\r\nETag: "v1"';
  const { text, target } = rangeOf(plan(req, res, 30));
  assert.match(text, /\r\nRange: bytes=130-199\r\nIf-Range: "v1"\r\n\r\n$/);
  assert.equal(text.match(/Range:/g)?.length, 2); // Range and If-Range, once each
  assert.deepEqual([target.first, target.last, target.total], [130, 199, 1000]);
});

test('a suffix range resumes from where its Content-Range says it started', () => {
  const req = `${GET}\r\nRange: bytes=-100`;
  const res = 'HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 900-999/1000\r\nETag: "v1"';
  assert.match(rangeOf(plan(req, res, 10)).text, /Range: bytes=910-999\r\n/);
});

test('Last-Modified is the validator when it is at least 1 s older than Date', () => {
  const res = `HTTP/1.1 200 OK\r\nContent-Length: 10\r\nETag: W/"weak"\r\n${OLD}\r\n${DATE}`;
  const { text, target } = rangeOf(plan(GET, res, 5));
  assert.match(text, /If-Range: Mon, 31 Mar 2025 12:00:00 GMT\r\n/);
  assert.equal(target.validator, 'last-modified');
});

const refusals: [string, () => ResumePlan, RegExp][] = [
  [
    'POST',
    () => plan('POST /f HTTP/1.1\r\nContent-Length: 1', OK, 5, true),
    /POST is not idempotent/,
  ],
  ['a GET with a body', () => plan(GET, OK, 5, true), /has a body/],
  [
    'a weak ETag alone',
    () => plan(GET, 'HTTP/1.1 200 OK\r\nETag: W/"x"\r\nContent-Length: 9', 1),
    /strong validator/,
  ],
  [
    'Last-Modified without Date',
    () => plan(GET, `HTTP/1.1 200 OK\r\n${OLD}\r\nContent-Length: 9`, 1),
    /strong validator/,
  ],
  [
    'a 404',
    () => plan(GET, 'HTTP/1.1 404 Not Found\r\nETag: "x"\r\nContent-Length: 9', 1),
    /status 404/,
  ],
  [
    'a multipart 206',
    () =>
      plan(
        GET,
        'HTTP/1.1 206 P\r\nETag: "x"\r\nContent-Type: multipart/byteranges; boundary=b\r\nContent-Length: 9',
        1,
      ),
    /multipart/,
  ],
  [
    'gzip transfer coding',
    () => plan(GET, 'HTTP/1.1 200 OK\r\nETag: "x"\r\nTransfer-Encoding: gzip, chunked', 1),
    /transfer coding/,
  ],
];

for (const [what, run, reason] of refusals) {
  test(`not resumable: ${what}`, () => {
    const p = run();
    assert.equal(p.kind, 'refuse');
    assert.match(p.kind === 'refuse' ? p.reason : '', reason);
  });
}

test('nothing delivered yet: the request is replayed as it was', () => {
  const p = plan(GET, undefined, 0);
  assert.equal(p.kind, 'replay');
  assert.equal(p.kind === 'replay' && p.head.toString(), `${GET}\r\n\r\n`);
});

test('everything delivered: complete', () => {
  assert.equal(plan(GET, OK, 1000).kind, 'complete');
});

function judge(res: string, delivered = 300, orig = OK) {
  const { target } = rangeOf(plan(GET, orig, delivered));
  const { head, framing } = response(res);
  return checkResumed(target, head, framing, opts);
}

test('a 206 that starts exactly at N and keeps length and ETag is spliced', () => {
  const v = judge(
    'HTTP/1.1 206 P\r\nContent-Range: bytes 300-999/1000\r\nContent-Length: 700\r\nETag: "v1"',
  );
  assert.deepEqual(v, { kind: 'splice', end: 1000 });
});

const rejections: [string, string, RegExp][] = [
  [
    'a wrong start',
    'HTTP/1.1 206 P\r\nContent-Range: bytes 310-999/1000\r\nETag: "v1"',
    /starts at 310, expected 300/,
  ],
  [
    'a wrong end',
    'HTTP/1.1 206 P\r\nContent-Range: bytes 300-998/1000\r\nETag: "v1"',
    /ends at 998/,
  ],
  [
    'a changed total',
    'HTTP/1.1 206 P\r\nContent-Range: bytes 300-999/2000\r\nETag: "v1"',
    /complete length/,
  ],
  [
    'a lying Content-Length',
    'HTTP/1.1 206 P\r\nContent-Range: bytes 300-999/1000\r\nContent-Length: 10\r\nETag: "v1"',
    /does not match/,
  ],
  [
    'a changed ETag on a 206',
    'HTTP/1.1 206 P\r\nContent-Range: bytes 300-999/1000\r\nETag: "v2"',
    /entity tag changed/,
  ],
  [
    'no Content-Range',
    'HTTP/1.1 206 P\r\nETag: "v1"\r\nContent-Length: 700',
    /no valid Content-Range/,
  ],
  [
    'a 200 with a new ETag (If-Range failed: content changed)',
    'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nETag: "v2"',
    /entity tag changed/,
  ],
  [
    'a 200 without any ETag',
    'HTTP/1.1 200 OK\r\nContent-Length: 1000',
    /without the original validator/,
  ],
  ['a 200 of another length', 'HTTP/1.1 200 OK\r\nContent-Length: 999\r\nETag: "v1"', /length 999/],
  ['a 412', 'HTTP/1.1 412 Precondition Failed\r\nContent-Length: 0', /status 412/],
  [
    'a changed Content-Encoding',
    'HTTP/1.1 206 P\r\nContent-Range: bytes 300-999/1000\r\nETag: "v1"\r\nContent-Encoding: gzip',
    /Content-Encoding/,
  ],
];

for (const [what, res, reason] of rejections) {
  test(`rejected: ${what}`, () => {
    const v = judge(res);
    assert.equal(v.kind, 'reject');
    assert.match(v.kind === 'reject' ? v.reason : '', reason);
  });
}

test('a 200 with the same ETag (Range ignored) is resumed by discarding N bytes', () => {
  assert.deepEqual(judge('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nETag: "v1"'), {
    kind: 'discard',
    skip: 300,
    end: 1000,
  });
});

test('discarding is bounded by maxDiscardBytes (1000 here)', () => {
  const big = 'HTTP/1.1 200 OK\r\nContent-Length: 5000\r\nETag: "v1"';
  assert.equal(judge(big, 1000, big).kind, 'discard');
  const far = judge(big, 1001, big);
  assert.equal(far.kind, 'reject');
  assert.match(far.kind === 'reject' ? far.reason : '', /maxDiscardBytes/);
});

test('a chunked original of unknown length: 416 for exactly N means it was complete', () => {
  const chunked = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nETag: "v1"';
  const { target } = rangeOf(plan(GET, chunked, 4096));
  assert.deepEqual([target.last, target.total], [undefined, undefined]);
  const done = response('HTTP/1.1 416 R\r\nContent-Range: bytes */4096\r\nContent-Length: 0');
  assert.deepEqual(checkResumed(target, done.head, done.framing, opts), { kind: 'complete' });
  const more = response('HTTP/1.1 206 P\r\nContent-Range: bytes 4096-9999/10000\r\nETag: "v1"');
  assert.deepEqual(checkResumed(target, more.head, more.framing, opts), {
    kind: 'splice',
    end: 10000,
  });
});
