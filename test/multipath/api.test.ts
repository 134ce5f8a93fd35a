import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { isRoamError } from '../../src/errors.js';
import { connect } from '../../src/session/client.js';
import { createServer } from '../../src/session/server.js';
import type { FlowpathInfo } from '../../src/session/flowpath.js';
import type { Session } from '../../src/session/session.js';
import { readAll, sha256, startServer } from '../session/session-support.js';
import { fast, multipathRig } from './multipath-support.js';

const Mbit = 1e6;

/** The server end of these tests: reads and drops, and takes the client's destroy calmly. */
const sink = (s: Session) => {
  s.on('error', () => undefined);
  s.resume();
};

test('localAddresses: one flowpath from each local address, bound to it', async (t) => {
  const { server, port } = await startServer(sink, fast);
  t.after(() => server.close());
  // 127.0.0.0/8 is all local on Linux: three "interfaces" of one host.
  const locals = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
  const client = connect({ host: '127.0.0.1', port, ...fast, localAddresses: locals });
  t.after(() => client.destroy());
  while (client.paths.filter((p) => p.state === 'open').length < 3) await once(client, 'path-up');
  assert.deepEqual(client.paths.map((p) => p.localAddress).sort(), locals);
});

test('maxFlowpaths bounds the paths the client opens; addPath beyond it is refused', async (t) => {
  const { server, port } = await startServer(sink, fast);
  t.after(() => server.close());
  const client = connect({
    host: '127.0.0.1',
    port,
    ...fast,
    localAddresses: ['127.0.0.1', '127.0.0.2', '127.0.0.3'],
    maxFlowpaths: 2,
  });
  t.after(() => client.destroy());
  while (client.paths.length < 2) await once(client, 'path-up');
  await assert.rejects(client.addPath({ localAddress: '127.0.0.4' }), (e: unknown) =>
    isRoamError(e, 'ROAM_PATH_LIMIT'),
  );
  assert.equal(client.paths.length, 2);
});

test('the server refuses flowpaths past its maxFlowpaths with LIMIT; the session goes on', async (t) => {
  const { server, port } = await startServer(sink, { ...fast, maxFlowpaths: 1 });
  t.after(() => server.close());
  const client = connect({ host: '127.0.0.1', port, ...fast });
  t.after(() => client.destroy());
  await once(client, 'connect');
  await assert.rejects(client.addPath({ localAddress: '127.0.0.2' }), (e: unknown) =>
    isRoamError(e, 'ROAM_SERVER_BUSY'),
  );
  assert.equal(client.state, 'open');
  assert.equal(client.paths.length, 1);
});

test('several adds at once: their HELLOs may arrive out of order, none is taken for a replay', async (t) => {
  const { server, port } = await startServer(sink, fast);
  t.after(() => server.close());
  const client = connect({ host: '127.0.0.1', port, ...fast });
  t.after(() => client.destroy());
  await once(client, 'connect');
  const added = await Promise.all(
    ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6'].map((a) =>
      client.addPath({ localAddress: a }),
    ),
  );
  assert.equal(new Set(added.map((p) => p.pathId)).size, 5);
  assert.equal(client.paths.filter((p) => p.state === 'open').length, 6);
});

test('removePath: the path goes and is not reopened; the last one cannot be removed', async (t) => {
  const { server, port } = await startServer(sink, fast);
  t.after(() => server.close());
  const client = connect({
    host: '127.0.0.1',
    port,
    ...fast,
    localAddresses: ['127.0.0.1', '127.0.0.2'],
  });
  t.after(() => client.destroy());
  while (client.paths.length < 2) await once(client, 'path-up');
  const second = client.paths.find((p) => p.localAddress === '127.0.0.2') as FlowpathInfo;
  const down = once(client, 'path-down');
  client.removePath(second.pathId);
  await down;
  // Longer than the retry interval: a removed pair stays removed.
  await new Promise((resolve) => setTimeout(resolve, 5 * fast.retryIntervalMs));
  assert.deepEqual(
    client.paths.map((p) => p.localAddress),
    ['127.0.0.1'],
  );
  const last = client.paths[0] as FlowpathInfo;
  assert.throws(
    () => client.removePath(last.pathId),
    (e: unknown) => isRoamError(e, 'ROAM_BAD_INPUT'),
  );
  assert.throws(
    () => client.removePath(999),
    (e: unknown) => isRoamError(e, 'ROAM_BAD_INPUT'),
  );
});

test('bad multipath options are refused with ROAM_BAD_INPUT', () => {
  for (const bad of [
    { localAddresses: [] },
    { localAddresses: ['eth0'] },
    { maxFlowpaths: 0 },
    { scheduler: 'fastest' },
  ]) {
    assert.throws(
      () => connect({ host: '127.0.0.1', port: 1, ...(bad as object) }),
      (e: unknown) => isRoamError(e, 'ROAM_BAD_INPUT'),
      JSON.stringify(bad),
    );
  }
  assert.throws(
    () => createServer({ advertise: [{ host: 'example.com', port: 1 }] }),
    (e: unknown) => isRoamError(e, 'ROAM_BAD_INPUT'),
  );
  assert.throws(
    () => createServer({ maxFlowpaths: 0 }),
    (e: unknown) => isRoamError(e, 'ROAM_BAD_INPUT'),
  );
});

test('path stats: rates, bytes and RTT per flowpath, as events while data flows', async (t) => {
  const rig = await multipathRig(
    t,
    [
      { rateBitsPerSec: 40 * Mbit, delayMs: 5 },
      { rateBitsPerSec: 10 * Mbit, delayMs: 20 },
    ],
    {
      client: { multipath: { statsIntervalMs: 100 } },
      server: { multipath: { statsIntervalMs: 100 } },
    },
  );
  await rig.paths(2);
  const snapshots: FlowpathInfo[][] = [];
  rig.peer.on('path-stats', (paths: FlowpathInfo[]) => snapshots.push(paths));
  const got = readAll(rig.client);
  const size = 6 * 1024 * 1024;
  rig.peer.end(Buffer.alloc(size, 1));
  assert.equal((await got).length, size);
  assert.ok(snapshots.length >= 2, `${snapshots.length} stats events`);
  const last = snapshots[snapshots.length - 1] as FlowpathInfo[];
  assert.equal(last.length, 2);
  for (const p of last) {
    assert.ok((p.sentBytes ?? 0) > 0 && (p.deliveredBytes ?? 0) > 0, JSON.stringify(p));
    assert.ok((p.rateBytesPerSec ?? 0) > 0, 'a delivery rate');
    assert.ok((p.minRttMs ?? 0) > 0, 'an RTT');
    assert.equal(p.suspect, false);
  }
});

test('backup policy: the preferred path carries a light stream alone; the backup takes over when it goes down', async (t) => {
  // Both links are on 127.0.0.1: the policy names the preferred one by "host:port".
  const rig = await multipathRig(
    t,
    [
      { rateBitsPerSec: 40 * Mbit, delayMs: 5 },
      { rateBitsPerSec: 40 * Mbit, delayMs: 5 },
    ],
    { scheduler: 'backup', client: { multipath: { statsIntervalMs: 50 } } },
  );
  await rig.paths(2);
  const [wifi, cell] = rig.links;
  assert.ok(wifi && cell);
  rig.client.setScheduler('backup', {
    backup: { prefer: [`${wifi.address.host}:${wifi.address.port}`], demandMs: 2000 },
  });
  const onCell = () =>
    rig.client.paths.find((p) => p.remotePort === cell.address.port)?.sentBytes ?? 0;
  const light = 512 * 1024;
  const got = readAll(rig.peer);
  rig.client.write(Buffer.alloc(light, 1));
  while ((rig.client.paths.reduce((n, p) => n + (p.deliveredBytes ?? 0), 0) ?? 0) < light)
    await once(rig.client, 'path-stats');
  assert.equal(onCell(), 0, 'nothing on the backup while the preferred path copes');
  await wifi.down();
  rig.client.end(Buffer.alloc(light, 2));
  const all = Buffer.concat([Buffer.alloc(light, 1), Buffer.alloc(light, 2)]);
  assert.deepEqual(await got, { length: all.length, sha256: sha256(all) });
  assert.ok(onCell() > 0, 'the backup carried the rest');
});
