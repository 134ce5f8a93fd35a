// The client's desired set of flowpaths (one per local × server address) and its one
// backoff rule, as pure bookkeeping.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_RETRY_MS, PathPairs, retryDelayMs } from '../../src/session/path-pairs.js';

const wifi = '10.1.0.2';
const cell = '10.2.0.2';
const serverWifi = { host: '10.1.0.1', port: 7000 };
const serverCell = { host: '10.2.0.1', port: 7000 };
const keys = (pairs: { key: string }[]) => pairs.map((p) => p.key);

test('each local address goes first to the server address on its own network', () => {
  const pairs = new PathPairs(2);
  assert.deepEqual(keys(pairs.wanted([wifi, cell], [serverWifi, serverCell])), [
    `${wifi}>10.1.0.1:7000`,
    `${cell}>10.2.0.1:7000`,
  ]);
});

test('within maxFlowpaths, counting live and opening pairs; removed pairs stay closed', () => {
  const pairs = new PathPairs(3);
  const first = pairs.of(wifi, serverWifi);
  first.pathId = 0;
  const want = pairs.wanted([wifi, cell], [serverWifi, serverCell]);
  assert.deepEqual(keys(want), [`${cell}>10.2.0.1:7000`, `${wifi}>10.2.0.1:7000`]);
  for (const p of want) p.opening = true;
  assert.equal(pairs.full, true);
  assert.deepEqual(pairs.wanted([wifi, cell], [serverWifi, serverCell]), []);
  const other = new PathPairs(4);
  other.of(cell, serverCell).removed = true;
  assert.ok(
    !keys(other.wanted([wifi, cell], [serverWifi, serverCell])).includes(`${cell}>10.2.0.1:7000`),
  );
});

test('a resume leaves one live pair; IPv4 locals never pair with IPv6 servers', () => {
  const pairs = new PathPairs(4);
  pairs.of(wifi, serverWifi).pathId = 1;
  pairs.of(cell, serverCell).pathId = 2;
  pairs.resumedOn(pairs.of(cell, serverCell), 5);
  assert.equal(pairs.live, 1);
  assert.deepEqual(
    pairs.withPath(5).map((p) => p.key),
    [`${cell}>10.2.0.1:7000`],
  );
  assert.deepEqual(keys(new PathPairs(4).wanted([wifi], [{ host: '::1', port: 1 }])), []);
});

test('backoff: ρ·2ⁿ up to 30 s', () => {
  assert.deepEqual(
    [0, 1, 2, 5].map((n) => retryDelayMs(n, 100)),
    [100, 200, 400, 3200],
  );
  assert.equal(retryDelayMs(50, 1000), MAX_RETRY_MS);
});
