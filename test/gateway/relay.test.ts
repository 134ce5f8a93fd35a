import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { connect, createServer } from 'node:net';
import { after, test } from 'node:test';
import { nextState } from '../../src/gateway/http/flow-state.js';
import {
  A,
  B,
  download,
  KiB,
  MiB,
  openHandles,
  sha256,
  startGateway,
  startOrigin,
} from './helpers.js';
import { rawExchange } from './raw-client.js';

after(async () => assert.deepEqual(await openHandles(), [], 'handles left open'));

const T = { timeout: 30_000 };
const body = randomBytes(4 * MiB);

test('flow state machine: the diagram, edge by edge', () => {
  assert.equal(nextState('idle', 'request'), 'forwarding');
  assert.equal(nextState('forwarding', 'response-done'), 'idle');
  assert.equal(nextState('forwarding', 'failure'), 'resuming');
  assert.equal(nextState('resuming', 'failure'), 'resuming');
  assert.equal(nextState('resuming', 'resumed'), 'forwarding');
  assert.equal(nextState('forwarding', 'upgrade'), 'tunnel');
  for (const s of ['idle', 'forwarding', 'resuming', 'tunnel'] as const) {
    assert.equal(nextState(s, 'close'), 'closing');
    assert.equal(nextState(s, 'closed'), 'closed');
  }
  assert.equal(nextState('closing', 'request'), 'closing');
  assert.equal(nextState('closed', 'close'), 'closed');
  assert.equal(nextState('idle', 'resumed'), 'idle', 'an event that does not apply');
});

/** An origin that echoes request bodies back (uploads), with the usual /file otherwise. */
async function echoOrigin(t: Parameters<typeof startOrigin>[0]) {
  return startOrigin(t, {
    resource: () => ({ body, etag: '"v1"' }),
    custom: (req, res) => {
      if (req.method !== 'POST' && req.method !== 'PUT') return false;
      res.writeHead(200, { 'X-Method': req.method });
      req.pipe(res);
      return true;
    },
  });
}

test(
  'uploads: a 4 MiB POST echoed back, Content-Length and chunked, with 100-continue',
  T,
  async (t) => {
    const origin = await echoOrigin(t);
    const gw = await startGateway(t, origin);
    const upload = randomBytes(4 * MiB);
    const plain = await download(gw.url('/up'), { method: 'POST', body: upload });
    assert.equal(sha256(plain.body), sha256(upload));
    const chunked = await new Promise<Buffer>((resolve, reject) => {
      const req = request(gw.url('/up'), {
        method: 'PUT',
        agent: false,
        headers: { 'Transfer-Encoding': 'chunked', Expect: '100-continue' },
      });
      req.on('continue', () => {
        for (let i = 0; i < 4; i++) req.write(upload.subarray(i * MiB, (i + 1) * MiB));
        req.end();
      });
      req.on('response', (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve(Buffer.concat(parts)));
      });
      req.on('error', reject);
    });
    assert.equal(sha256(chunked), sha256(upload));
  },
);

test('HEAD and 204 carry no body; the connection stays usable', T, async (t) => {
  const origin = await startOrigin(t, {
    resource: () => ({ body, etag: '"v1"' }),
    custom: (req, res) => {
      if (req.url !== '/empty') return false;
      res.writeHead(204).end();
      return true;
    },
  });
  const gw = await startGateway(t, origin);
  const r = await rawExchange(
    gw.port,
    'HEAD /file HTTP/1.1\r\nHost: o\r\n\r\nGET /empty HTTP/1.1\r\nHost: o\r\n\r\n' +
      'GET /file HTTP/1.1\r\nHost: o\r\nConnection: close\r\n\r\n',
    ['HEAD', 'GET', 'GET'],
  );
  assert.deepEqual(r.statuses, [200, 204, 200]);
  assert.equal(r.bodies.length, 3);
  assert.equal(sha256(r.bodies[2] ?? Buffer.alloc(0)), sha256(body));
});

test(
  'a close-delimited response (HTTP/1.0 style) is relayed and ends with the connection',
  T,
  async (t) => {
    const origin = await startOrigin(t, {
      resource: () => ({ body, etag: '"v1"' }),
      custom: (_req, res) => {
        const socket = res.socket;
        if (socket === null) return false;
        socket.write('HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n');
        socket.end(body);
        return true;
      },
    });
    const gw = await startGateway(t, origin);
    const r = await rawExchange(gw.port, 'GET /x HTTP/1.0\r\n\r\n', ['GET']);
    assert.equal(sha256(r.bodies[0] ?? Buffer.alloc(0)), sha256(body));
  },
);

test('trailers of a chunked response reach the client', T, async (t) => {
  const origin = await startOrigin(t, {
    resource: () => ({ body, etag: '"v1"' }),
    custom: (_req, res) => {
      res.writeHead(200, { 'Transfer-Encoding': 'chunked', Trailer: 'X-Digest' });
      res.write(body.subarray(0, 1000));
      res.addTrailers({ 'X-Digest': 'abc' });
      res.end();
      return true;
    },
  });
  const gw = await startGateway(t, origin);
  const trailers = await new Promise<NodeJS.Dict<string>>((resolve) => {
    request(gw.url('/t'), { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.trailers));
    }).end();
  });
  assert.equal(trailers['x-digest'], 'abc');
});

test('101 Switching Protocols: a tunnel, bytes both ways', T, async (t) => {
  const raw = createServer((s) => {
    s.once('data', () => {
      s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
      s.pipe(s);
    });
  });
  raw.listen(0, '127.0.0.1');
  await once(raw, 'listening');
  t.after(() => new Promise<void>((resolve) => raw.close(() => resolve())));
  const address = raw.address();
  assert.ok(address !== null && typeof address === 'object');
  const gw = await startGateway(t, { port: address.port });
  const tunnel = connect({ host: '127.0.0.1', port: gw.port });
  await once(tunnel, 'connect');
  tunnel.write('GET /ws HTTP/1.1\r\nHost: o\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nhello');
  let got = '';
  tunnel.on('data', (c: Buffer) => {
    got += c.toString('latin1');
    if (got.endsWith('hello')) tunnel.write(' world');
    if (got.endsWith('hello world')) tunnel.end();
  });
  await once(tunnel, 'close');
  assert.match(got, /^HTTP\/1\.1 101 Switching Protocols\r\n[\s\S]*\r\n\r\nhello world$/);
  const stats = await gw.flowClosed(0);
  assert.equal(stats.requests, 1);
  assert.equal(stats.error, undefined);
});

test(
  'an idle keep-alive flow whose uplink fails sends its next request on the other',
  T,
  async (t) => {
    const origin = await startOrigin(t, { resource: () => ({ body, etag: '"v1"' }) });
    const gw = await startGateway(t, origin);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    t.after(() => agent.destroy());
    await download(gw.url('/1'), { agent });
    gw.down.add('A');
    assert.equal(gw.engine.uplinkFailed('A'), 1);
    const d = await download(gw.url('/2'), { agent });
    assert.equal(sha256(d.body), sha256(body));
    assert.deepEqual(
      origin.requests.map((r) => r.from),
      [A.localAddress, B.localAddress],
    );
    assert.equal(gw.engine.stats()[0]?.migrations, 0, 'nothing was live: nothing to migrate');
  },
);

test(
  'an upstream connection the origin closes while idle is replaced, not reused',
  T,
  async (t) => {
    const origin = await startOrigin(t, {
      resource: () => ({ body, etag: '"v1"' }),
      keepAliveTimeoutMs: 50,
    });
    const gw = await startGateway(t, origin);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    t.after(() => agent.destroy());
    await download(gw.url('/1'), { agent });
    const first = gw.upstreams[0]?.socket;
    assert.ok(first !== undefined);
    if (!first.destroyed) await once(first, 'close'); // the origin's idle timeout
    const d = await download(gw.url('/2'), { agent });
    assert.equal(sha256(d.body), sha256(body));
    assert.equal(gw.upstreams.length, 2, 'a new upstream connection for the second request');
    assert.equal(gw.engine.stats().length, 1, 'on the same client connection');
  },
);

test(
  'backpressure: a client that stops reading stops the origin; memory stays bounded',
  T,
  async (t) => {
    const big = randomBytes(32 * MiB);
    const origin = await startOrigin(t, { resource: () => ({ body: big, etag: '"big"' }) });
    const gw = await startGateway(t, origin);
    const client = connect({ host: '127.0.0.1', port: gw.port });
    t.after(() => client.destroy());
    await once(client, 'connect');
    client.pause();
    client.write('GET /big HTTP/1.1\r\nHost: o\r\nConnection: close\r\n\r\n');
    await origin.request(0);
    const upstream = gw.upstreams[0]?.socket;
    assert.ok(upstream !== undefined);
    await once(upstream, 'pause'); // the engine stopped reading from the origin
    const [stats] = gw.engine.stats();
    assert.ok(stats !== undefined);
    const held = stats.bytesFromServer - stats.bytesToClient;
    t.diagnostic(`held in the engine when paused: ${held} bytes`);
    assert.ok(held <= 256 * KiB, `the engine holds ${held} bytes`);
    let received = 0;
    client.on('data', (c: Buffer) => (received += c.length));
    client.resume();
    await once(client, 'close');
    assert.ok(received > big.length);
  },
);
