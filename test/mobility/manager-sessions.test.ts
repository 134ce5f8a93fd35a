import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { test } from 'node:test';
import { MobilityManager, type PathEvent } from '../../src/mobility/mobility-manager.js';
import { connect } from '../../src/session/client.js';
import type { Session } from '../../src/session/session.js';
import { fast } from '../multipath/multipath-support.js';
import { readAll, startServer } from '../session/session-support.js';
import { addr, FakeWatcher } from './mobility-fakes.js';

// Real sessions on loopback (every 127/8 address is this host's), with the host's
// addresses told by a fake watcher: the manager adds and removes real flowpaths while an
// upload runs, and the server gets every byte.

const LO1 = addr('lo', '127.0.0.1', 8);
const LO2 = addr('lo', '127.0.0.2', 8);

async function write(session: Session, hash: ReturnType<typeof createHash>, size: number) {
  for (let off = 0; off < size; off += 64 * 1024) {
    const chunk = randomBytes(Math.min(64 * 1024, size - off));
    hash.update(chunk);
    if (!session.write(chunk)) await once(session, 'drain');
  }
}

test('real sessions: a new address carries data, a vanished one is dropped, byte-exact', async (t) => {
  let received: Promise<{ length: number; sha256: string }> | undefined;
  let got = 0;
  const arrived = new Set<() => void>();
  const { server, port } = await startServer((s) => {
    s.on('error', () => undefined);
    received = readAll(s, (n) => {
      got = n;
      for (const f of arrived) f();
    });
  }, fast);
  t.after(() => server.close());
  const until = (n: number) =>
    new Promise<void>((resolve) => {
      if (got >= n) return resolve();
      const f = () => {
        if (got < n) return;
        arrived.delete(f);
        resolve();
      };
      arrived.add(f);
    });

  const watcher = new FakeWatcher([LO1]);
  const manager = new MobilityManager(watcher);
  t.after(() => manager.close());
  const client = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.1', ...fast });
  t.after(() => client.destroy());
  await once(client, 'connect');
  manager.manage(client);
  const hash = createHash('sha256');
  const MiB = 1024 * 1024;

  await write(client, hash, 4 * MiB);
  await until(4 * MiB);
  const added = once(manager, 'path-added') as Promise<[PathEvent]>;
  watcher.set([LO1, LO2]);
  const [event] = await added;
  assert.equal(event.address, '127.0.0.2');
  await write(client, hash, 16 * MiB);
  await until(20 * MiB);
  const second = client.paths.find((p) => p.localAddress === '127.0.0.2');
  assert.ok(
    second && (second.sentBytes ?? 0) > 0,
    `127.0.0.2 carried nothing: ${JSON.stringify(client.paths)}`,
  );

  const removed = once(manager, 'path-removed') as Promise<[PathEvent & { reason: string }]>;
  watcher.set([LO2]);
  const [gone] = await removed;
  assert.equal(gone.address, '127.0.0.1');
  assert.equal(gone.reason, 'vanished');
  assert.deepEqual(
    client.paths.filter((p) => p.state === 'open').map((p) => p.localAddress),
    ['127.0.0.2'],
  );
  await write(client, hash, 4 * MiB);
  client.end();
  const result = await (received as Promise<{ length: number; sha256: string }>);
  assert.deepEqual(result, { length: 24 * MiB, sha256: hash.digest('hex') });
});
