import assert from 'node:assert/strict';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { isRoamError } from '../../src/errors.js';
import { NamesClient, type NamesClientOptions } from '../../src/names/client/client.js';
import type { NameChange } from '../../src/names/client/watch.js';
import { generateKeyPair } from '../../src/names/keys.js';
import { deviceRecord, startRig, userRecord, Waiter } from './helpers.js';
import { CutProxy } from './proxy.js';

const BOB = 'bob@example.com';
const LAPTOP = 'laptop.bob@example.com';
const addr = (ip: string) => [{ ip, port: 4000, iface: 'wifi' as const, priority: 0 }];

function client(t: TestContext, opts: NamesClientOptions): NamesClient {
  const c = new NamesClient(opts);
  t.after(() => c.close());
  return c;
}

async function fakeServer(t: TestContext, handler: RequestListener): Promise<string> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test('publish registers then updates with rising versions; resolve verifies, devices included', async (t) => {
  const { url, clock, bob, laptop } = await startRig(t);
  const user = client(t, { server: url, key: bob, clock });
  const dev = client(t, { server: url, key: laptop, userKey: bob, clock });
  const reader = client(t, { server: url, clock });
  const first = await user.publish({ name: BOB, attributes: { display: 'Bob' } });
  assert.equal(first.result.revision, 1);
  const second = await user.publish({ name: BOB, addresses: addr('192.0.2.1') });
  assert.ok(second.record.version > first.record.version);
  await dev.publish({
    name: LAPTOP,
    addresses: addr('192.0.2.7'),
    control: { ip: '192.0.2.7', port: 4001 },
  });
  const r = await reader.resolve(LAPTOP);
  assert.deepEqual(r.addresses, addr('192.0.2.7'));
  assert.equal(r.delegation?.key, bob.publicKey);
  assert.equal((await reader.resolve(BOB)).addresses[0]?.ip, '192.0.2.1');
  // A device client without the user's key reuses the delegation already published.
  const again = client(t, { server: url, key: laptop, clock });
  await again.publish({ name: LAPTOP, addresses: addr('198.51.100.7') });
  assert.equal((await reader.resolve(LAPTOP)).addresses[0]?.ip, '198.51.100.7');
  // Heartbeat and list-devices through the client.
  await again.heartbeat(LAPTOP);
  assert.deepEqual(
    (await reader.listDevices(BOB)).map((d) => [d.name, d.online]),
    [[LAPTOP, true]],
  );
});

test('publish goes above a version written elsewhere; missing keys and delegations are clear errors', async (t) => {
  const { url, clock, bob, laptop } = await startRig(t);
  const a = client(t, { server: url, key: bob, clock });
  const b = client(t, { server: url, key: bob, clock });
  await a.publish({ name: BOB });
  clock.advance(-10_000); // b's clock is behind: its first guess of a version is too low
  const { record } = await b.publish({ name: BOB, attributes: { from: 'b' } });
  assert.equal((await a.resolve(BOB)).version, record.version);
  await assert.rejects(client(t, { server: url, clock }).publish({ name: BOB }), (e) =>
    isRoamError(e, 'ROAM_NAMES_CONFIG'),
  );
  await assert.rejects(
    client(t, { server: url, key: laptop, clock }).publish({ name: LAPTOP }),
    (e) => isRoamError(e, 'ROAM_NAMES_NEED_DELEGATION'),
  );
  await assert.rejects(
    client(t, { server: 'http://127.0.0.1:1', clock }).resolve(BOB),
    (e) => isRoamError(e, 'ROAM_NAMES_UNREACHABLE') && /roam names serve/.test(e.message),
  );
  await assert.rejects(client(t, { server: url, clock }).resolve('nobody@example.com'), (e) =>
    isRoamError(e, 'ROAM_NAMES_NOT_FOUND'),
  );
});

test('a lying server is not believed, and the cache never goes back to an older version', async (t) => {
  const now = Date.UTC(2030, 0, 1);
  const bob = generateKeyPair();
  const mallory = generateKeyPair();
  const laptop = generateKeyPair();
  const clock = { now: () => now };
  const v5 = userRecord(BOB, bob, now, { version: 5 });
  let answer: unknown = { record: v5, revision: 1 };
  const url = await fakeServer(t, (_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer)),
  );
  const c = client(t, { server: url, clock });
  assert.equal((await c.resolve(BOB)).version, 5);

  const untrusted = (why: RegExp) => (e: unknown) =>
    isRoamError(e, 'ROAM_NAMES_UNTRUSTED') && why.test((e as Error).message);
  answer = {
    record: { ...userRecord(BOB, bob, now, { version: 6 }), addresses: addr('203.0.113.66') },
    revision: 2,
  };
  await assert.rejects(c.resolve(BOB), untrusted(/does not verify/));
  answer = { record: userRecord(BOB, mallory, now, { version: 7 }), revision: 2 };
  await assert.rejects(c.resolve(BOB), untrusted(/belongs to another key/));
  answer = { record: userRecord('eve@example.com', bob, now), revision: 2 };
  await assert.rejects(c.resolve(BOB), untrusted(/sent a record for eve/));
  answer = { record: userRecord(BOB, bob, now, { version: 3 }), revision: 2 };
  assert.equal((await c.resolve(BOB)).version, 5, 'an older version does not replace a newer one');
  // A device certified by a key that is not the user's one the client knows.
  answer = {
    record: deviceRecord(LAPTOP, laptop, mallory, now),
    owner: userRecord(BOB, mallory, now, { version: 9 }),
    revision: 3,
  };
  await assert.rejects(c.resolve(LAPTOP), untrusted(/key changed/));
  // Pinned keys: refused before any first use.
  const pinned = client(t, { server: url, clock, pins: { [BOB]: bob.publicKey } });
  await assert.rejects(pinned.resolve(LAPTOP), untrusted(/key changed/));
  answer = { record: userRecord(BOB, mallory, now), revision: 1 };
  await assert.rejects(pinned.resolve(BOB), untrusted(/pinned key/));
  // A server that is not a name server at all.
  answer = 'not json';
  const html = await fakeServer(t, (_req, res) =>
    res.writeHead(502).end('<html>bad gateway</html>'),
  );
  await assert.rejects(
    client(t, { server: html, clock }).resolve(BOB),
    (e) => isRoamError(e, 'ROAM_NAMES_UNREACHABLE') && /without JSON/.test(e.message),
  );
});

test('client watch: reconnects by itself after a cut and delivers every version once, in order', async (t) => {
  const { url, clock, bob, laptop } = await startRig(t);
  const proxy = await CutProxy.start(t, Number(new URL(url).port));
  const writer = client(t, { server: url, key: bob, clock });
  const watcher = client(t, { server: proxy.url, clock });
  const versions: number[] = [];
  const changes: NameChange[] = [];
  const waiter = new Waiter();
  await writer.publish({ name: BOB });
  const w = watcher.watch(
    [BOB, LAPTOP],
    (ch) => {
      changes.push(ch);
      if (ch.name === BOB) versions.push(ch.record.version);
      if (versions.length === 5 && ch.name === BOB) {
        proxy.hold();
        proxy.cut();
      }
      waiter.poke();
    },
    { minRetryMs: 1, maxRetryMs: 5 },
  );
  await w.ready;
  const published = [(await watcher.resolve(BOB)).version];
  for (let i = 0; i < 15; i++)
    published.push(
      (await writer.publish({ name: BOB, attributes: { n: String(i) } })).record.version,
    );
  await waiter.until(() => w.state === 'connecting' || w.state === 'waiting');
  proxy.release();
  await waiter.until(() => versions.length === 16);
  // Deletion reaches the watcher too, verified like any record.
  const dev = client(t, { server: url, key: laptop, userKey: bob, clock });
  await dev.publish({ name: LAPTOP, addresses: addr('192.0.2.7') });
  await client(t, { server: url, key: bob, clock }).remove(LAPTOP);
  await waiter.until(() => changes.some((c) => c.type === 'delete'));
  assert.deepEqual(versions, published);
  assert.equal(w.connects, 2);
  assert.deepEqual(
    changes.filter((c) => c.name === LAPTOP).map((c) => c.type),
    ['put', 'delete'],
  );
  w.close();
  assert.equal(w.state, 'closed');
});
