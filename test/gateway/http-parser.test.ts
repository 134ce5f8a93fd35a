import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isRoamError } from '../../src/errors.js';
import { RequestParser } from '../../src/gateway/http/request-parser.js';
import { type ResponseEvent, ResponseParser } from '../../src/gateway/http/response-parser.js';

const limits = { maxHeadBytes: 64 * 1024, maxHeaders: 100 };
const bin = (s: string): Buffer => Buffer.from(s, 'latin1');

interface Parsed {
  heads: { status: number; framing: string }[];
  interim: number[];
  bodies: string[];
  trailers: string[][];
}

/** Feed `chunks` to a parser that expects `methods`, collect what it says. */
function parse(methods: string[], chunks: Buffer[], eof = false): Parsed {
  const p = new ResponseParser(limits);
  for (const m of methods) p.expect(m);
  const out: Parsed = { heads: [], interim: [], bodies: [], trailers: [] };
  let body: Buffer[] = [];
  const take = (ev: ResponseEvent): void => {
    if (ev.type === 'interim') out.interim.push(ev.head.status);
    if (ev.type === 'head') {
      const framing = ev.framing === 'upgrade' ? 'upgrade' : ev.framing.kind;
      out.heads.push({ status: ev.head.status, framing });
    }
    if (ev.type === 'body') body.push(ev.data);
    if (ev.type === 'end') {
      out.bodies.push(Buffer.concat(body).toString('latin1'));
      out.trailers.push(ev.trailers.map((t) => `${t.name}=${t.value}`));
      body = [];
    }
  };
  for (const c of chunks) for (const ev of p.events(c)) take(ev);
  if (eof) {
    p.finish();
    for (let ev = p.next(); ev !== undefined; ev = p.next()) take(ev);
  }
  return out;
}

test('Content-Length response, from raw hex', () => {
  // "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
  const raw = Buffer.from(
    '485454502f312e3120323030204f4b0d0a436f6e74656e742d4c656e6774683a20350d0a0d0a68656c6c6f',
    'hex',
  );
  const r = parse(['GET'], [raw]);
  assert.deepEqual(r.heads, [{ status: 200, framing: 'length' }]);
  assert.deepEqual(r.bodies, ['hello']);
});

test('chunked body with extensions and trailers, byte by byte', () => {
  const raw = bin(
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' +
      '5;name=value\r\nhello\r\n0006 \r\n world\r\n0\r\nX-Sum: 1\r\nX-Other: two\r\n\r\n',
  );
  const chunks = [...raw].map((b) => Buffer.from([b]));
  const r = parse(['GET'], chunks);
  assert.deepEqual(r.bodies, ['hello world']);
  assert.deepEqual(r.trailers, [['X-Sum=1', 'X-Other=two']]);
});

test('bare LF line ends are accepted', () => {
  const r = parse(['GET'], [bin('HTTP/1.1 200 OK\nContent-Length: 2\n\nok')]);
  assert.deepEqual(r.bodies, ['ok']);
});

test('close-delimited body ends at EOF', () => {
  const r = parse(['GET'], [bin('HTTP/1.0 200 OK\r\n\r\nsome'), bin(' bytes')], true);
  assert.deepEqual(r.heads, [{ status: 200, framing: 'close' }]);
  assert.deepEqual(r.bodies, ['some bytes']);
});

test('1xx interim responses come before the final one', () => {
  const raw = bin(
    'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n' +
      'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx',
  );
  const r = parse(['POST'], [raw]);
  assert.deepEqual(r.interim, [100, 103]);
  assert.deepEqual(r.heads, [{ status: 200, framing: 'length' }]);
  assert.deepEqual(r.bodies, ['x']);
});

test('HEAD, 204 and 304 have no body whatever their headers say', () => {
  const raw = bin(
    'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n' +
      'HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n' +
      'HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n' +
      'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nend',
  );
  const r = parse(['HEAD', 'GET', 'GET', 'GET'], [raw]);
  assert.deepEqual(r.bodies, ['', '', '', 'end']);
});

test('101 switches to raw bytes', () => {
  const p = new ResponseParser(limits);
  p.expect('GET');
  const events = [...p.events(bin('HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\nRAW'))];
  assert.equal(events.length, 1);
  assert.equal(events[0]?.type === 'head' && events[0].framing, 'upgrade');
  assert.equal(p.takeRemainder().toString(), 'RAW');
});

test('every prefix of a response is "need more", never an error or a false end', () => {
  const raw = bin(
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nETag: "x"\r\n\r\n' +
      '3;a=b\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nT: v\r\n\r\n',
  );
  for (let n = 0; n < raw.length; n++) {
    const r = parse(['GET'], [raw.subarray(0, n)]);
    assert.deepEqual(r.bodies, [], `prefix of ${n} bytes ended the body`);
  }
  assert.deepEqual(parse(['GET'], [raw]).bodies, ['abc0123456789abcdef']);
});

const badResponses: [string, string | Buffer, string[]?][] = [
  ['a head over 64 KiB', `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(70_000)}`],
  ['more than 100 fields', `HTTP/1.1 200 OK\r\n${'X-A: 1\r\n'.repeat(101)}\r\n`],
  ['a bogus chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n'],
  [
    'a chunk longer than its size',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n',
  ],
  ['a huge chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffff\r\n'],
  [
    'TE and Content-Length',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n',
  ],
  [
    'conflicting Content-Lengths',
    'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n',
  ],
  ['a negative Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n'],
  ['obs-fold', 'HTTP/1.1 200 OK\r\nX-A: 1\r\n  2\r\n\r\n'],
  ['a bare CR', 'HTTP/1.1 200 OK\r\nX-A: 1\r2\r\n\r\n'],
  ['space before the colon', 'HTTP/1.1 200 OK\r\nX-A : 1\r\n\r\n'],
  ['a bad status line', 'HTTP/2 200 OK\r\n\r\n'],
  ['data with no request outstanding', 'HTTP/1.1 200 OK\r\n\r\n', []],
];

for (const [what, raw, methods = ['GET']] of badResponses) {
  test(`response with ${what} is ROAM_GATEWAY_BAD_RESPONSE`, () => {
    const buf = typeof raw === 'string' ? bin(raw) : raw;
    assert.throws(
      () => parse(methods, [buf]),
      (e) => isRoamError(e, 'ROAM_GATEWAY_BAD_RESPONSE'),
    );
  });
}

test('a failed parser keeps failing', () => {
  const p = new ResponseParser(limits);
  p.expect('GET');
  p.push(bin('HTTP/9 200\r\n\r\n'));
  assert.throws(
    () => p.next(),
    (e) => isRoamError(e, 'ROAM_GATEWAY_BAD_RESPONSE'),
  );
  assert.throws(
    () => p.next(),
    (e) => isRoamError(e, 'ROAM_GATEWAY_BAD_RESPONSE'),
  );
});

test('an endless head fed in 1 KiB pieces is refused once past the limit', () => {
  const p = new ResponseParser(limits);
  p.expect('GET');
  const piece = bin(
    'X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n'.repeat(16),
  );
  p.push(bin('HTTP/1.1 200 OK\r\n'));
  let fed = 0;
  assert.throws(
    () => {
      for (;;) {
        for (let ev = p.next(); ev !== undefined; ev = p.next());
        p.push(piece);
        fed += piece.length;
      }
    },
    (e) => isRoamError(e, 'ROAM_GATEWAY_BAD_RESPONSE'),
  );
  assert.ok(fed <= 64 * 1024 + piece.length, `read ${fed} bytes before refusing`);
});

test('requests: keep-alive and pipelining, bodies by length and chunked', () => {
  const p = new RequestParser(limits);
  const raw = bin(
    '\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n' +
      'POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello' +
      'PUT /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  );
  const seen: string[] = [];
  for (const ev of p.events(raw)) {
    if (ev.type === 'head') seen.push(`${ev.head.method} ${ev.head.target} ${ev.framing.kind}`);
    if (ev.type === 'body') seen.push(`body ${ev.data.toString()}`);
    if (ev.type === 'end') seen.push('end');
  }
  assert.deepEqual(seen, [
    'GET /a none',
    'end',
    'POST /b length',
    'body hello',
    'end',
    'PUT /c chunked',
    'body abc',
    'end',
  ]);
  assert.ok(p.idle);
});

const badRequests: [string, string][] = [
  [
    'TE and Content-Length',
    'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n',
  ],
  ['TE in HTTP/1.0', 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n'],
  ['TE not ending in chunked', 'POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n'],
  ['a head over 64 KiB', `GET / HTTP/1.1\r\nCookie: ${'c'.repeat(70_000)}\r\n\r\n`],
  ['a space in the target', 'GET /a b HTTP/1.1\r\n\r\n'],
  ['HTTP/2 prior knowledge', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'],
  ['garbage', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n'],
];

for (const [what, raw] of badRequests) {
  test(`request with ${what} is ROAM_GATEWAY_BAD_REQUEST`, () => {
    const p = new RequestParser(limits);
    assert.throws(
      () => [...p.events(bin(raw))],
      (e) => isRoamError(e, 'ROAM_GATEWAY_BAD_REQUEST'),
    );
  });
}
