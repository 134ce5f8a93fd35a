import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { after, test } from 'node:test';
import {
  A,
  B,
  download,
  MiB,
  openHandles,
  LAST_MODIFIED,
  type Representation,
  startGateway,
  startOrigin,
  assertSame,
  failAt,
} from './helpers.js';
import { rawExchange } from './raw-client.js';

const T = { timeout: 60_000 };
const body20 = randomBytes(20 * MiB);
const v1: Representation = { body: body20, etag: '"v1"' };

after(async () => assert.deepEqual(await openHandles(), [], 'handles left open'));

test(
  '20 MB, uplink A fails after 5 MB: byte-exact, resumed with Range and If-Range on B',
  T,
  async (t) => {
    const origin = await startOrigin(t, {
      resource: () => v1,
      stallAt: (r) => (r.index === 0 ? 5 * MiB : undefined),
    });
    const gw = await startGateway(t, origin);
    const d = await download(gw.url('/file'), { onBytes: failAt(gw, 5 * MiB, 'A') });
    assert.equal(d.error, undefined);
    assert.ok(d.complete);
    assert.equal(d.status, 200);
    assertSame(d.body, body20);
    const [first, second] = origin.requests;
    assert.equal(origin.requests.length, 2);
    assert.equal(first?.from, A.localAddress);
    assert.equal(second?.from, B.localAddress);
    assert.equal(second?.headers.range, `bytes=${5 * MiB}-`);
    assert.equal(second?.headers['if-range'], '"v1"');
    assert.deepEqual(
      gw.splices.map((s) => [s.kind, s.offset, s.uplink]),
      [['range', 5 * MiB, 'B']],
    );
    await gw.engine.close();
    const [stats] = gw.closed;
    assert.equal(stats?.migrations, 1);
    assert.equal(stats?.uplink, 'B');
    assert.equal(stats?.error, undefined);
  },
);

test(
  'a chunked response is re-framed across the splice: still valid chunked, byte-exact',
  T,
  async (t) => {
    const origin = await startOrigin(t, {
      resource: () => ({ ...v1, chunked: true }),
      stallAt: (r) => (r.index === 0 ? 5 * MiB : undefined),
    });
    const gw = await startGateway(t, origin);
    const d = await download(gw.url('/file'), { onBytes: failAt(gw, 5 * MiB, 'A') });
    assert.equal(d.headers['transfer-encoding'], 'chunked');
    assert.ok(d.complete);
    assertSame(d.body, body20);
    assert.equal(origin.requests[1]?.headers.range, `bytes=${5 * MiB}-`);
  },
);

test("the client's own Range (and If-Range) is rewritten, not duplicated", T, async (t) => {
  const origin = await startOrigin(t, {
    resource: () => v1,
    stallAt: (r) => (r.index === 0 ? 5 * MiB : undefined),
  });
  const gw = await startGateway(t, origin);
  const from = 1_000_000;
  const last = 15_999_999;
  const d = await download(gw.url('/file'), {
    headers: { Range: `bytes=${from}-${last}`, 'If-Range': '"v1"' },
    onBytes: failAt(gw, 5 * MiB - from, 'A'),
  });
  assert.equal(d.status, 206);
  assert.ok(d.complete);
  assertSame(d.body, body20.subarray(from, last + 1));
  assert.equal(origin.requests[1]?.headers.range, `bytes=${5 * MiB}-${last}`);
  assert.equal(origin.requests[1]?.headers['if-range'], '"v1"');
});

test('two failures in one download: A, then B (A is back by then)', T, async (t) => {
  const origin = await startOrigin(t, {
    resource: () => v1,
    stallAt: (r) => [5 * MiB, 12 * MiB][r.index],
  });
  const gw = await startGateway(t, origin);
  const first = failAt(gw, 5 * MiB, 'A');
  const second = failAt(gw, 12 * MiB, 'B');
  const d = await download(gw.url('/file'), {
    onBytes: (n) => {
      first(n);
      if (n === 12 * MiB) gw.down.delete('A');
      second(n);
    },
  });
  assert.ok(d.complete);
  assertSame(d.body, body20);
  assert.deepEqual(
    origin.requests.map((r) => [r.from, r.headers.range]),
    [
      [A.localAddress, undefined],
      [B.localAddress, `bytes=${5 * MiB}-`],
      [A.localAddress, `bytes=${12 * MiB}-`],
    ],
  );
  assert.equal(gw.splices.length, 2);
});

test(
  'keep-alive: two requests on one client connection, failure during the second',
  T,
  async (t) => {
    const small = randomBytes(300_000);
    const origin = await startOrigin(t, {
      resource: (r) => (r.url === '/small' ? { body: small, etag: '"s"' } : v1),
      stallAt: (r) => (r.index === 1 ? 5 * MiB : undefined),
    });
    const gw = await startGateway(t, origin);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    t.after(() => agent.destroy());
    const d1 = await download(gw.url('/small'), { agent });
    assertSame(d1.body, small);
    const d2 = await download(gw.url('/file'), { agent, onBytes: failAt(gw, 5 * MiB, 'A') });
    assert.ok(d2.complete);
    assertSame(d2.body, body20);
    const flows = gw.engine.stats();
    assert.equal(flows.length, 1, 'both requests on one client connection');
    assert.equal(flows[0]?.requests, 2);
    assert.equal(flows[0]?.migrations, 1);
    assert.equal(origin.requests[2]?.headers.range, `bytes=${5 * MiB}-`);
  },
);

test('pipelined requests are answered in order, also across a splice', T, async (t) => {
  const a = randomBytes(3 * MiB);
  const b = randomBytes(MiB);
  const origin = await startOrigin(t, {
    resource: (r) => (r.url === '/a' ? { body: a, etag: '"a"' } : { body: b, etag: '"b"' }),
    stallAt: (r) => (r.index === 0 ? MiB : undefined),
  });
  const gw = await startGateway(t, origin);
  const { bodies: responses } = await rawExchange(
    gw.port,
    'GET /a HTTP/1.1\r\nHost: o\r\n\r\nGET /b HTTP/1.1\r\nHost: o\r\nConnection: close\r\n\r\n',
    ['GET', 'GET'],
    (total) => {
      if (total === MiB && gw.migrations.length === 0) {
        gw.down.add('A');
        gw.engine.uplinkFailed('A');
      }
    },
  );
  assert.equal(responses.length, 2);
  assertSame(responses[0] ?? Buffer.alloc(0), a);
  assertSame(responses[1] ?? Buffer.alloc(0), b);
  assert.deepEqual(
    origin.requests.map((r) => [r.url, r.headers.range]),
    [
      ['/a', undefined],
      ['/a', `bytes=${MiB}-`],
      ['/b', undefined],
    ],
  );
});

test(
  'a server without Range support: the new 200 is caught up by discarding N bytes',
  T,
  async (t) => {
    const origin = await startOrigin(t, {
      resource: () => ({ ...v1, ranges: false }),
      stallAt: (r) => (r.index === 0 ? 5 * MiB : undefined),
    });
    const gw = await startGateway(t, origin);
    const d = await download(gw.url('/file'), { onBytes: failAt(gw, 5 * MiB, 'A') });
    assert.ok(d.complete);
    assertSame(d.body, body20);
    assert.equal(origin.requests[1]?.headers.range, `bytes=${5 * MiB}-`); // asked anyway: harmless
    assert.deepEqual(
      gw.splices.map((s) => [s.kind, s.offset]),
      [['discard', 5 * MiB]],
    );
  },
);

test('an upstream socket that dies without a word is noticed and resumed', T, async (t) => {
  const origin = await startOrigin(t, {
    resource: () => v1,
    stallAt: (r) => (r.index === 0 ? 5 * MiB : undefined),
  });
  const gw = await startGateway(t, origin);
  let killed = false;
  const d = await download(gw.url('/file'), {
    onBytes: (n) => {
      if (killed || n !== 5 * MiB) return;
      killed = true;
      gw.upstreams[0]?.socket.destroy();
    },
  });
  assert.ok(d.complete);
  assertSame(d.body, body20);
  assert.equal(gw.migrations[0]?.from, 'A');
  assert.equal(gw.migrations[0]?.to, 'B');
});

test('failure before the response head: the GET is replayed on the other uplink', T, async (t) => {
  const small = randomBytes(100_000);
  const origin = await startOrigin(t, {
    resource: () => ({ body: small, etag: '"s"' }),
    custom: (_req, _res, seen) => seen.index === 0, // the first request gets no answer
  });
  const gw = await startGateway(t, origin);
  const pending = download(gw.url('/file'));
  await origin.request(0);
  gw.down.add('A');
  gw.engine.uplinkFailed('A');
  const d = await pending;
  assert.ok(d.complete);
  assertSame(d.body, small);
  assert.equal(origin.requests[1]?.headers.range, undefined);
  assert.deepEqual(
    gw.splices.map((s) => s.kind),
    ['replay'],
  );
});

test('no ETag, only Last-Modified (older than Date): If-Range carries the date', T, async (t) => {
  const origin = await startOrigin(t, {
    resource: () => ({ body: body20, lastModified: LAST_MODIFIED }),
    stallAt: (r) => (r.index === 0 ? 5 * MiB : undefined),
  });
  const gw = await startGateway(t, origin);
  const d = await download(gw.url('/file'), { onBytes: failAt(gw, 5 * MiB, 'A') });
  assert.ok(d.complete);
  assertSame(d.body, body20);
  assert.equal(origin.requests[1]?.headers['if-range'], LAST_MODIFIED);
});
