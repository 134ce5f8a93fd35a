import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { after, type TestContext, test } from 'node:test';
import {
  download,
  type Gateway,
  MiB,
  openHandles,
  sha256,
  startGateway,
  startOrigin,
} from './helpers.js';
import { rawExchange } from './raw-client.js';

after(async () => assert.deepEqual(await openHandles(), [], 'handles left open'));

const T = { timeout: 30_000 };
const body = randomBytes(8 * MiB);

/** A TCP "origin" that answers the first request bytes with `reply` and then goes quiet. */
async function rawOrigin(t: TestContext, reply: Buffer | string): Promise<{ port: number }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.once('data', () => s.write(reply));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const a = server.address();
  assert.ok(a !== null && typeof a === 'object');
  return { port: a.port };
}

/**
 * A healthy 8 MiB download through another listener of the same engine, held at 4 MiB
 * until `release` resolves (so it is live while the hostile flow fails), then checked.
 */
async function healthyFlow(t: TestContext, gw: Gateway, release: Promise<unknown>) {
  const good = await startOrigin(t, {
    resource: () => ({ body, etag: '"good"' }),
    pause: () => ({ at: 4 * MiB, until: release }),
  });
  const url = await gw.listen(good);
  const pending = download(url('/good'));
  return async (): Promise<void> => {
    const d = await pending;
    assert.ok(d.complete, 'the healthy flow completed');
    assert.equal(sha256(d.body), sha256(body));
  };
}

/** The hostile flow is the first to close; its error code is checked. */
async function expectFailure(gw: Gateway, code: string): Promise<void> {
  const stats = await gw.flowClosed(0);
  assert.equal(stats.error?.code, code, JSON.stringify(stats.error));
  assert.ok(
    gw.logs.some((l) => l.code === code && l.msg === 'flow failed'),
    'the failure is logged with its code',
  );
}

test(
  'a 1 MB header block from the server: BAD_RESPONSE, a parallel flow completes',
  T,
  async (t) => {
    const evil = await rawOrigin(t, `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(MiB)}\r\n\r\n`);
    const gw = await startGateway(t, evil);
    const failed = expectFailure(gw, 'ROAM_GATEWAY_BAD_RESPONSE');
    const healthy = await healthyFlow(t, gw, failed);
    const d = await download(gw.url('/x'));
    assert.equal(d.complete, false);
    assert.equal(d.status, 0, 'the client got no response at all');
    await failed;
    await healthy();
  },
);

test('a bogus chunk size mid-body: BAD_RESPONSE, the client sees a cut-off body', T, async (t) => {
  const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nETag: "x"\r\n\r\n';
  const chunk = Buffer.concat([
    Buffer.from('10000\r\n'),
    body.subarray(0, 0x10000),
    Buffer.from('\r\n'),
  ]);
  const evil = await rawOrigin(t, Buffer.concat([Buffer.from(head), chunk, Buffer.from('zz\r\n')]));
  const gw = await startGateway(t, evil);
  const failed = expectFailure(gw, 'ROAM_GATEWAY_BAD_RESPONSE');
  const healthy = await healthyFlow(t, gw, failed);
  const d = await download(gw.url('/x'));
  assert.equal(d.complete, false);
  assert.equal(sha256(d.body), sha256(body.subarray(0, 0x10000)));
  await failed;
  await healthy();
});

test(
  'a Content-Range for the wrong offset: RESUME_REJECTED, no wrong byte reaches the client',
  T,
  async (t) => {
    const origin = await startOrigin(t, {
      resource: () => ({ body, etag: '"v1"' }),
      stallAt: (r) => (r.index === 0 ? MiB : undefined),
      custom: (_req, res, seen) => {
        if (seen.index === 0) return false;
        const from = MiB + 10; // off by ten
        res.writeHead(206, {
          ETag: '"v1"',
          'Content-Range': `bytes ${from}-${body.length - 1}/${body.length}`,
          'Content-Length': body.length - from,
        });
        res.end(body.subarray(from));
        return true;
      },
    });
    const gw = await startGateway(t, origin);
    const failed = expectFailure(gw, 'ROAM_GATEWAY_RESUME_REJECTED');
    const healthy = await healthyFlow(t, gw, failed);
    const d = await download(gw.url('/file'), {
      onBytes: (n) => {
        if (n !== MiB) return;
        gw.down.add('A');
        gw.engine.uplinkFailed('A');
      },
    });
    assert.equal(d.complete, false);
    assert.equal(sha256(d.body), sha256(body.subarray(0, MiB)));
    await failed;
    await healthy();
  },
);

test(
  'a server that lies about Content-Length and closes early: resume refused, short',
  T,
  async (t) => {
    const real = body.subarray(0, 2 * MiB);
    const origin = await startOrigin(t, {
      resource: () => ({ body: real, etag: '"v1"' }),
      custom: (_req, res, seen) => {
        if (seen.index !== 0) return false;
        res.writeHead(200, { ETag: '"v1"', 'Content-Length': 4 * MiB, 'Accept-Ranges': 'bytes' });
        res.write(real, () => res.socket?.end()); // FIN after 2 of the 4 MiB promised
        return true;
      },
    });
    const gw = await startGateway(t, origin);
    const d = await download(gw.url('/file'));
    assert.equal(d.complete, false);
    assert.equal(sha256(d.body), sha256(real));
    assert.equal(origin.requests[1]?.headers.range, `bytes=${2 * MiB}-`);
    const stats = await gw.flowClosed(0);
    assert.equal(stats.error?.code, 'ROAM_GATEWAY_RESUME_REJECTED');
  },
);

const badClients: [string, string][] = [
  ['a 1 MB header block', `GET / HTTP/1.1\r\nHost: o\r\nCookie: ${'c'.repeat(MiB)}\r\n\r\n`],
  ['a TLS ClientHello on port 80', '\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n'],
  [
    'Transfer-Encoding with Content-Length',
    'POST / HTTP/1.1\r\nHost: o\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n',
  ],
];

for (const [what, text] of badClients) {
  test(`from a client, ${what}: 400, closed, BAD_REQUEST, others unharmed`, T, async (t) => {
    const origin = await startOrigin(t, { resource: () => ({ body, etag: '"v1"' }) });
    const gw = await startGateway(t, origin);
    const failed = expectFailure(gw, 'ROAM_GATEWAY_BAD_REQUEST');
    const healthy = await healthyFlow(t, gw, failed);
    const r = await rawExchange(gw.port, Buffer.from(text, 'latin1'), ['GET']);
    assert.deepEqual(r.statuses, [400]);
    await failed;
    await healthy();
    assert.equal(origin.requests.length, 0, 'nothing reached the origin');
  });
}
