import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, createServer as netCreateServer } from 'node:net';
import type { NetworkInterfaceInfo } from 'node:os';
import { test, type TestContext } from 'node:test';
import { isRoamError } from '../../src/errors.js';
import { watchAddresses } from '../../src/mobility/address-watcher.js';
import {
  addressesFor,
  ifaceKind,
  NamePublisher,
  type Published,
} from '../../src/mobility/name-publisher.js';
import { NamesClient } from '../../src/names/client/client.js';
import { startNamesServer } from '../../src/names/http/server.js';
import { generateKeyPair } from '../../src/names/keys.js';
import { NameService } from '../../src/names/service.js';
import { MemoryStore } from '../../src/names/store/memory-store.js';

const NAME = 'laptop-svc';

async function namesServer(t: TestContext): Promise<string> {
  const store = new MemoryStore();
  const server = await startNamesServer(new NameService(store), { host: '127.0.0.1', port: 0 });
  t.after(async () => {
    await server.close();
    await store.close();
  });
  return server.url;
}

const iface = (address: string): NetworkInterfaceInfo => ({
  address,
  netmask: '255.255.255.0',
  family: 'IPv4',
  mac: '02:00:00:00:00:01',
  internal: false,
  cidr: `${address}/24`,
});

test('addressesFor: kinds from interface names, ethernet before wifi before cellular', () => {
  assert.equal(ifaceKind('wlan0'), 'wifi');
  assert.equal(ifaceKind('wwan0'), 'cellular');
  assert.equal(ifaceKind('enp3s0'), 'ethernet');
  assert.equal(ifaceKind('tun0'), 'other');
  const got = addressesFor(
    [
      { interface: 'wwan0', address: '10.2.0.2', family: 4, prefixLength: 24 },
      { interface: 'wlan0', address: '2001:db8::2', family: 6, prefixLength: 64 },
      { interface: 'wlan0', address: '10.1.0.2', family: 4, prefixLength: 24 },
      { interface: 'eth0', address: '10.3.0.2', family: 4, prefixLength: 24 },
    ],
    7000,
  );
  assert.deepEqual(
    got.map((a) => [a.ip, a.iface, a.priority]),
    [
      ['10.3.0.2', 'ethernet', 10],
      ['10.1.0.2', 'wifi', 20],
      ['2001:db8::2', 'wifi', 25],
      ['10.2.0.2', 'cellular', 30],
    ],
  );
  assert.ok(got.every((a) => a.port === 7000));
});

test('every address change is published, debounced, at rising versions; readers see it', async (t) => {
  const url = await namesServer(t);
  const names = new NamesClient({ server: url, key: generateKeyPair() });
  t.after(() => names.close());
  let now: NodeJS.Dict<NetworkInterfaceInfo[]> = { wlan0: [iface('10.1.0.2')] };
  const watcher = await watchAddresses({ mode: 'poll', intervalMs: 10, read: () => now });
  t.after(() => watcher.close());
  const publisher = new NamePublisher({
    names,
    name: NAME,
    watcher,
    debounceMs: 100,
    fields: () => ({ addresses: addressesFor(watcher.addresses(), 7000) }),
  });
  t.after(() => publisher.close());
  const published: Published[] = [];
  publisher.on('published', (p) => published.push(p));
  publisher.on('error', (err) => assert.fail(err));

  const first = once(publisher, 'published') as Promise<[Published]>;
  publisher.update('start');
  publisher.update('start again'); // within the debounce: the same publish
  await first;
  const reader = new NamesClient({ server: url });
  t.after(() => reader.close());
  assert.deepEqual(
    (await reader.resolve(NAME)).addresses.map((a) => a.ip),
    ['10.1.0.2'],
  );

  // A renumber: the new address appears, then the old one goes (two changes, one publish).
  const second = once(publisher, 'published') as Promise<[Published]>;
  now = { wlan0: [iface('10.1.0.2'), iface('10.1.0.9')] };
  await once(watcher, 'change');
  now = { wlan0: [iface('10.1.0.9')] };
  const [p2] = await second;
  assert.equal(p2.reason, 'addresses changed');
  assert.deepEqual(
    p2.record.addresses.map((a) => a.ip),
    ['10.1.0.9'],
  );
  assert.equal(published.length, 2, 'one publish per burst of changes');
  assert.ok((published[1]?.record.version ?? 0) > (published[0]?.record.version ?? 0));
  assert.deepEqual(
    (await reader.resolve(NAME)).addresses.map((a) => a.ip),
    ['10.1.0.9'],
  );
});

test('a name server that cannot be reached: bounded tries, then one error', async (t) => {
  // A server that accepts and drops every connection: each try is one connection.
  let connections = 0;
  const dropper = netCreateServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((resolve) => dropper.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => dropper.close(() => resolve())));
  const { port } = dropper.address() as AddressInfo;
  const names = new NamesClient({ server: `http://127.0.0.1:${port}`, key: generateKeyPair() });
  t.after(() => names.close());
  const publisher = new NamePublisher({
    names,
    name: NAME,
    debounceMs: 0,
    tries: 3,
    retryDelayMs: 10,
    fields: () => ({ addresses: [] }),
  });
  t.after(() => publisher.close());
  const failed = once(publisher, 'error') as Promise<[Error]>;
  publisher.update();
  const [err] = await failed;
  assert.ok(isRoamError(err, 'ROAM_NAMES_UNREACHABLE'), String(err));
  assert.equal(connections, 3);
  assert.throws(
    () => new NamePublisher({ names, name: NAME, tries: 0, fields: () => ({}) }),
    (e) => isRoamError(e, 'ROAM_BAD_INPUT'),
  );
});

test('a final error (another key owns the name) is not retried', async (t) => {
  const url = await namesServer(t);
  const owner = new NamesClient({ server: url, key: generateKeyPair() });
  t.after(() => owner.close());
  await owner.publish({ name: NAME });
  const other = new NamesClient({ server: url, key: generateKeyPair() });
  t.after(() => other.close());
  let calls = 0;
  const publish = other.publish.bind(other);
  other.publish = (fields) => (calls++, publish(fields));
  const publisher = new NamePublisher({
    names: other,
    name: NAME,
    debounceMs: 0,
    retryDelayMs: 10,
    fields: () => ({}),
  });
  t.after(() => publisher.close());
  publisher.update();
  const [err] = (await once(publisher, 'error')) as [Error];
  assert.ok(isRoamError(err) && err.code.startsWith('ROAM_NAMES_'), String(err));
  assert.ok(!isRoamError(err, 'ROAM_NAMES_UNREACHABLE'));
  assert.equal(calls, 1, 'not retried');
});
