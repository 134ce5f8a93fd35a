import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { NetworkInterfaceInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { median } from '../../bench/lib/stats.js';
import { isRoamError } from '../../src/errors.js';
import { type AddressChange, watchAddresses } from '../../src/mobility/address-watcher.js';
import { diffAddresses, snapshot } from '../../src/mobility/local-addresses.js';
import { labSkipReason, simpleTopology, withLab } from '../lab/lab-support.js';
import { Probe, type ProbeEvent } from '../lab/probe.js';

const v4 = (address: string, cidr: string, internal = false): NetworkInterfaceInfo => ({
  address,
  netmask: '255.255.255.0',
  family: 'IPv4',
  mac: '02:00:00:00:00:01',
  internal,
  cidr,
});

test('snapshot: loopback and IPv6 link-local left out, prefix lengths read, sorted', () => {
  const got = snapshot({
    lo: [v4('127.0.0.1', '127.0.0.1/8', true)],
    wlan0: [
      v4('192.168.1.20', '192.168.1.20/24'),
      {
        address: 'fe80::1',
        netmask: 'ffff:ffff:ffff:ffff::',
        family: 'IPv6',
        mac: '02:00:00:00:00:01',
        internal: false,
        cidr: 'fe80::1/64',
        scopeid: 2,
      },
      {
        address: '2001:db8::20',
        netmask: 'ffff:ffff:ffff:ffff::',
        family: 'IPv6',
        mac: '02:00:00:00:00:01',
        internal: false,
        cidr: '2001:db8::20/64',
        scopeid: 0,
      },
    ],
    eth0: [v4('10.0.0.5', '10.0.0.5/16')],
  });
  assert.deepEqual(got, [
    { interface: 'eth0', address: '10.0.0.5', family: 4, prefixLength: 16 },
    { interface: 'wlan0', address: '192.168.1.20', family: 4, prefixLength: 24 },
    { interface: 'wlan0', address: '2001:db8::20', family: 6, prefixLength: 64 },
  ]);
  assert.equal(
    snapshot({ lo: [v4('127.0.0.1', '127.0.0.1/8', true)] }, { includeInternal: true }).length,
    1,
  );
});

test('diff: added and removed; a changed prefix is both', () => {
  const a = { interface: 'wifi', address: '10.1.0.2', family: 4 as const, prefixLength: 24 };
  const b = { interface: 'wifi', address: '10.1.0.3', family: 4 as const, prefixLength: 24 };
  assert.deepEqual(diffAddresses([a], [a, b]), { added: [b], removed: [] });
  assert.deepEqual(diffAddresses([a, b], [b]), { added: [], removed: [a] });
  const wider = { ...a, prefixLength: 16 };
  assert.deepEqual(diffAddresses([a], [wider]), { added: [wider], removed: [a] });
});

test('poll mode: a change of what the system reports is one change event', async (t) => {
  let now: NodeJS.Dict<NetworkInterfaceInfo[]> = { wifi: [v4('10.1.0.2', '10.1.0.2/24')] };
  const w = await watchAddresses({ mode: 'poll', intervalMs: 20, read: () => now });
  t.after(() => w.close());
  assert.equal(w.mode, 'poll');
  assert.deepEqual(
    w.addresses().map((a) => a.address),
    ['10.1.0.2'],
  );
  const changed = once(w, 'change') as Promise<[AddressChange]>;
  now = { wifi: [v4('10.1.0.3', '10.1.0.3/24')] };
  const [c] = await changed;
  assert.deepEqual(
    [c.added.map((a) => a.address), c.removed.map((a) => a.address)],
    [['10.1.0.3'], ['10.1.0.2']],
  );
  assert.deepEqual(
    w.addresses().map((a) => a.address),
    ['10.1.0.3'],
  );
});

test('bad options are ROAM_BAD_INPUT', async () => {
  await assert.rejects(watchAddresses({ intervalMs: 0 }), (e) => isRoamError(e, 'ROAM_BAD_INPUT'));
  await assert.rejects(watchAddresses({ mode: 'inotify' as 'poll' }), (e) =>
    isRoamError(e, 'ROAM_BAD_INPUT'),
  );
});

// Which reacts faster to an address added in a namespace: the kernel's netlink notification
// (through `ip monitor`) or polling os.networkInterfaces()? Both watchers run in one process
// inside the lab host; the test adds and removes an address ROUNDS times and takes the time
// from just before `ip addr add`/`del` is started to each watcher's event.
const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'watch-addresses.js');
const ROUNDS = 6;
const POLL_MS = 1000;
const mono = () => Number(process.hrtime.bigint() / 1000n) / 1000;

describe('address watcher in a network namespace', { skip: labSkipReason() }, () => {
  test('netlink and poll both see addresses added and removed (delays printed)', async () => {
    await withLab(simpleTopology(), async (lab) => {
      const probe = new Probe(lab, 'client', [String(POLL_MS)], FIXTURE);
      try {
        const ready = await probe.waitFor((e) => e.event === 'ready', 10_000, 'ready');
        assert.deepEqual(ready.modes, ['netlink', 'poll']);
        assert.deepEqual(ready.addresses, [
          { interface: 'wifi', address: '10.1.0.2', family: 4, prefixLength: 24 },
        ]);
        const delays: Record<'netlink' | 'poll' | 'exec', number[]> = {
          netlink: [],
          poll: [],
          exec: [],
        };
        for (let i = 0; i < ROUNDS; i++) {
          const adding = i % 2 === 0;
          const ip = `10.1.0.${100 + (i >> 1)}`;
          const seen = (mode: string) => (e: ProbeEvent) =>
            e.event === 'change' &&
            e.mode === mode &&
            ((adding ? e.added : e.removed) as { address: string; prefixLength: number }[]).some(
              (a) => a.address === ip && a.prefixLength === 24,
            );
          const events = Promise.all([
            probe.next(seen('netlink'), 10_000, `netlink sees ${ip}`),
            probe.next(seen('poll'), 10_000, `poll sees ${ip}`),
          ]);
          // Each round starts right after a poll (the last one saw the previous change): a
          // random phase makes the poll's delay what a change at any moment would meet.
          await sleep(Math.random() * POLL_MS);
          const t0 = mono();
          await lab.exec('client', [
            'ip',
            'addr',
            adding ? 'add' : 'del',
            `${ip}/24`,
            'dev',
            'wifi',
          ]);
          delays.exec.push(mono() - t0);
          const [netlink, poll] = await events;
          delays.netlink.push((netlink.t as number) - t0);
          delays.poll.push((poll.t as number) - t0);
        }
        assert.ok(!probe.events.some((e) => e.event === 'error'), 'a watcher failed');
        console.log(
          `# address change → event, ${ROUNDS} adds/removes: netlink median ${median(delays.netlink).toFixed(1)} ms (max ${Math.max(...delays.netlink).toFixed(1)}), ` +
            `poll every ${POLL_MS} ms median ${median(delays.poll).toFixed(1)} ms (max ${Math.max(...delays.poll).toFixed(1)}); ` +
            `from the start of \`ip netns exec … ip addr\`, which itself takes median ${median(delays.exec).toFixed(1)} ms`,
        );
      } finally {
        await probe.stop();
      }
    });
  });
});
