import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { generateKeyPair } from '../../src/names/keys.js';
import { signRecord } from '../../src/names/sign.js';
import { call, fields, startRig, userRecord } from './helpers.js';

test('bodies over the limit are refused: declared (before reading) or streamed', async (t) => {
  const { url } = await startRig(t, { server: { maxBodyBytes: 2048 } });
  const big = JSON.stringify({ pad: 'x'.repeat(4096) });
  const declared = await call(url, 'POST', '/v1/names', big);
  assert.equal(declared.status, 413);
  assert.equal(declared.body.code, 'ROAM_NAMES_TOO_LARGE');
  // Chunked, no Content-Length: refused once 2048 bytes arrived, the rest never needed.
  const streamed = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(`${url}/v1/names`, { method: 'POST', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.write('{"pad":"');
    req.write('y'.repeat(3000));
    // The request is left open: the server must answer without waiting for its end.
    t.after(() => req.destroy());
  });
  assert.equal(streamed.status, 413);
  assert.match(streamed.body, /larger than 2048 bytes/);
});

test('rate limits per source address, refilled by the clock', async (t) => {
  const { url, clock } = await startRig(t, { server: { readRate: { perSecond: 2, burst: 3 } } });
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++)
    statuses.push((await call(url, 'GET', '/v1/names/nobody@example.com')).status);
  assert.deepEqual(statuses, [404, 404, 404, 429]);
  const limited = await call(url, 'GET', '/v1/names/nobody@example.com');
  assert.equal(limited.body.code, 'ROAM_NAMES_RATE_LIMITED');
  assert.equal(limited.body.retryAfterMs, 500);
  assert.equal(limited.headers['retry-after'], '1');
  clock.advance(499);
  assert.equal((await call(url, 'GET', '/v1/names/nobody@example.com')).status, 429);
  clock.advance(1);
  assert.equal((await call(url, 'GET', '/v1/names/nobody@example.com')).status, 404);
});

test('rate limits per key are charged only for verified signatures, and per source for all writes', async (t) => {
  const { url, clock, bob } = await startRig(t, {
    server: {
      writeRatePerKey: { perSecond: 1, burst: 2 },
      writeRatePerSource: { perSecond: 1, burst: 7 },
    },
  });
  const now = clock.now();
  const mallory = generateKeyPair();
  // Forgeries in Bob's name cost Bob nothing.
  for (let v = 1; v <= 3; v++) {
    const forged = {
      ...fields('bob@example.com', bob, now, { version: v }),
      signature: signRecord(fields('bob@example.com', mallory, now), mallory).signature,
    };
    assert.equal(
      (await call(url, 'POST', '/v1/names', forged)).body.code,
      'ROAM_NAMES_BAD_SIGNATURE',
    );
  }
  assert.equal(
    (await call(url, 'POST', '/v1/names', userRecord('bob@example.com', bob, now, { version: 1 })))
      .status,
    201,
  );
  assert.equal(
    (
      await call(
        url,
        'PUT',
        '/v1/names/bob@example.com',
        userRecord('bob@example.com', bob, now, { version: 2 }),
      )
    ).status,
    200,
  );
  const third = await call(
    url,
    'PUT',
    '/v1/names/bob@example.com',
    userRecord('bob@example.com', bob, now, { version: 3 }),
  );
  assert.equal(third.status, 429);
  assert.match(String(third.body.message), /for this key/);
  // Another key still has its budget, but this address has now spent all 7.
  assert.equal(
    (await call(url, 'POST', '/v1/names', userRecord('eve@example.com', mallory, now))).status,
    201,
  );
  const source = await call(
    url,
    'POST',
    '/v1/names',
    userRecord('zed@example.com', generateKeyPair(), now),
  );
  assert.equal(source.status, 429);
  assert.match(String(source.body.message), /from this address/);
  clock.advance(1000);
  assert.equal(
    (
      await call(
        url,
        'PUT',
        '/v1/names/bob@example.com',
        userRecord('bob@example.com', bob, now, { version: 3 }),
      )
    ).status,
    200,
  );
});

test('lookups answered from the cache are charged to the source too, as are unknown paths', async (t) => {
  const { url, clock, service, bob } = await startRig(t, {
    server: { readRate: { perSecond: 1, burst: 3 } },
  });
  await service.register(userRecord('bob@example.com', bob, clock.now()));
  const first = await call(url, 'GET', '/v1/names/bob%40example.com');
  assert.equal(first.status, 200);
  assert.equal(service.cachedLookupJson('bob@example.com') !== undefined, true, 'now cached');
  const second = await call(url, 'GET', '/v1/names/bob%40example.com');
  assert.deepEqual(second.body, first.body);
  assert.equal((await call(url, 'GET', '/v1/nothing-here')).status, 404);
  const limited = await call(url, 'GET', '/v1/names/bob%40example.com');
  assert.equal(limited.status, 429);
  assert.equal(limited.body.code, 'ROAM_NAMES_RATE_LIMITED');
  clock.advance(1000);
  assert.equal((await call(url, 'GET', '/v1/names/bob%40example.com')).status, 200);
});

test('a request target in absolute form is routed like its path', async (t) => {
  const { url, clock, service, bob } = await startRig(t);
  await service.register(userRecord('bob@example.com', bob, clock.now()));
  const { port } = new URL(url);
  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: `http://127.0.0.1:${port}/v1/names/bob%40example.com`,
        agent: false,
      },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
  assert.equal(answer.status, 200);
  assert.equal(
    (JSON.parse(answer.body) as { record: { name: string } }).record.name,
    'bob@example.com',
  );
});
