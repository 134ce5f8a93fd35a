import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createMobilityManager,
  MobilityManager,
  type PathEvent,
} from '../../src/mobility/mobility-manager.js';
import { RoamError } from '../../src/errors.js';
import { addr, FakeSession, FakeWatcher, ManualClock } from './mobility-fakes.js';

const WIFI = addr('wlan0', '10.1.0.2');
const CELL = addr('wwan0', '10.2.0.2');
const CELL2 = addr('wwan0', '10.2.0.9');

function rig(initial = [WIFI], sessionPaths = ['10.1.0.2'], policy?: object) {
  const watcher = new FakeWatcher(initial);
  const clock = new ManualClock();
  const manager = new MobilityManager(watcher, { clock, policy, retryMs: 100 });
  const session = new FakeSession(sessionPaths);
  const events: { name: string; e: unknown }[] = [];
  for (const name of ['path-added', 'path-removed', 'path-failed', 'migrate'] as const)
    manager.on(name, (e: unknown) => events.push({ name, e }));
  return { watcher, clock, manager, session, events };
}

test('a new address gets a flowpath at once; the event says how long it took', async () => {
  const { watcher, clock, manager, session, events } = rig();
  manager.manage(session);
  assert.deepEqual(session.adds, [], 'the existing address already has its flowpath');
  clock.setNow(1000);
  watcher.set([WIFI, CELL]);
  assert.deepEqual(session.adds, ['10.2.0.2'], 'opened in the same tick as the event');
  assert.deepEqual(manager.slots(session), { '10.1.0.2': 'open', '10.2.0.2': 'opening' });
  clock.setNow(1040);
  await session.settle('10.2.0.2');
  assert.deepEqual(manager.slots(session), { '10.1.0.2': 'open', '10.2.0.2': 'open' });
  const added = events.find((x) => x.name === 'path-added')?.e as PathEvent;
  assert.equal(added.address, '10.2.0.2');
  assert.equal(added.ms, 40);
  manager.close();
});

test('a vanished address: its flowpath is removed in the same tick, not after a timeout', async () => {
  const { watcher, clock, manager, session, events } = rig([WIFI, CELL], ['10.1.0.2', '10.2.0.2']);
  manager.manage(session);
  clock.setNow(500);
  watcher.set([WIFI]);
  assert.deepEqual(session.removed, [2]);
  assert.deepEqual(session.openAddresses(), ['10.1.0.2']);
  const removed = events.find((x) => x.name === 'path-removed')?.e as PathEvent & {
    reason: string;
  };
  assert.equal(removed.reason, 'vanished');
  assert.equal(removed.ms, 0);
  assert.deepEqual(session.adds, [], 'nothing reopened');
  manager.close();
});

test('renumbering: the new address is opened and the old one removed', async () => {
  const { watcher, manager, session } = rig([WIFI, CELL], ['10.1.0.2', '10.2.0.2']);
  manager.manage(session);
  watcher.set([WIFI, CELL2]);
  assert.deepEqual(session.removed, [2]);
  assert.deepEqual(session.adds, ['10.2.0.9']);
  await session.settle('10.2.0.9');
  assert.deepEqual(session.openAddresses().sort(), ['10.1.0.2', '10.2.0.9']);
  manager.close();
});

test('the last flowpath on a vanished address stays until the replacement is up', async () => {
  const { watcher, manager, session, events } = rig([WIFI], ['10.1.0.2']);
  manager.manage(session);
  watcher.set([CELL]); // Wi-Fi gone, cellular appeared
  assert.deepEqual(session.removed, [], 'not removed: it is the last one');
  assert.equal(session.migrations, 0, 'no migration: a replacement is opening');
  await session.settle('10.2.0.2');
  assert.deepEqual(session.removed, [1], 'removed once the new flowpath is up');
  assert.deepEqual(session.openAddresses(), ['10.2.0.2']);
  assert.ok(events.some((x) => x.name === 'path-removed'));
  manager.close();
});

test('the last flowpath on a vanished address with nothing to open: the session migrates', () => {
  const { watcher, manager, session, events } = rig([WIFI], ['10.1.0.2']);
  manager.manage(session);
  watcher.set([]);
  assert.equal(session.migrations, 1);
  assert.equal(events.find((x) => x.name === 'migrate')?.name, 'migrate');
  manager.close();
});

test('a failed open is retried with backoff until it works, and not after the address goes', async () => {
  const { watcher, clock, manager, session, events } = rig();
  manager.manage(session);
  watcher.set([WIFI, CELL]);
  await session.settle('10.2.0.2', new RoamError('ROAM_CONNECT_FAILED', 'unreachable'));
  assert.deepEqual(manager.slots(session)['10.2.0.2'], 'waiting');
  assert.deepEqual(clock.pending, [100]);
  const failed = events.filter((x) => x.name === 'path-failed').map((x) => x.e);
  assert.deepEqual(failed, [
    { session: 'fake', address: '10.2.0.2', code: 'ROAM_CONNECT_FAILED', retryInMs: 100 },
  ]);
  clock.advance(99);
  assert.equal(session.adds.length, 1);
  clock.advance(1);
  assert.equal(session.adds.length, 2);
  await session.settle('10.2.0.2', new Error('again'));
  assert.deepEqual(clock.pending, [200], 'doubled');
  watcher.set([WIFI]);
  assert.deepEqual(clock.pending, [], 'the retry is cancelled with the address');
  clock.advance(10_000);
  assert.equal(session.adds.length, 2);
  manager.close();
});

test('a flowpath that dies on a usable address is reopened after a backoff', async () => {
  const { watcher, clock, manager, session } = rig([WIFI, CELL], ['10.1.0.2', '10.2.0.2']);
  manager.manage(session);
  session.kill(2);
  assert.deepEqual(session.adds, [], 'not at once: a path that dies at once must not spin');
  clock.advance(100);
  assert.deepEqual(session.adds, ['10.2.0.2']);
  await session.settle('10.2.0.2');
  assert.deepEqual(session.openAddresses().sort(), ['10.1.0.2', '10.2.0.2']);
  manager.close();
  void watcher;
});

test('roles: a backup address makes the session use the backup scheduler; setPolicy swaps live', async () => {
  const policy = {
    rules: [
      { interface: 'wlan*', role: 'primary' },
      { interface: 'wwan*', role: 'backup', metered: true },
    ],
    backupOnDemand: false,
  };
  const { manager, session } = rig([WIFI, CELL], ['10.1.0.2', '10.2.0.2'], policy);
  manager.manage(session);
  assert.equal(session.scheduler, 'backup');
  assert.deepEqual(session.pathPolicy?.prefer, ['10.1.0.2']);
  assert.deepEqual(session.schedulerOpts, { backup: { prefer: ['10.1.0.2'], demandMs: Infinity } });
  // The device starts moving: prefer cellular.
  manager.setPolicy({
    rules: [
      { interface: 'wlan*', role: 'backup' },
      { interface: 'wwan*', role: 'primary', metered: true },
    ],
  });
  assert.deepEqual(session.pathPolicy?.prefer, ['10.2.0.2']);
  assert.deepEqual(session.pathPolicy?.cost, { '10.1.0.2': 0, '10.2.0.2': 1 });
  assert.equal(session.pathPolicy?.demandMs, 500);
  // No backups left: back to the session's own scheduler.
  manager.setPolicy({});
  assert.equal(session.scheduler, 'aggregate');
  manager.close();
});

test('setPolicy never: the flowpath there is removed; allowed again: reopened', async () => {
  const { manager, session, events } = rig([WIFI, CELL], ['10.1.0.2', '10.2.0.2']);
  manager.manage(session);
  manager.setPolicy({ rules: [{ interface: 'wwan0', role: 'never' }] });
  assert.deepEqual(session.removed, [2]);
  const removed = events.find((x) => x.name === 'path-removed')?.e as { reason: string };
  assert.equal(removed.reason, 'policy');
  manager.setPolicy({});
  assert.deepEqual(session.adds, ['10.2.0.2']);
  await session.settle('10.2.0.2');
  assert.deepEqual(session.openAddresses().sort(), ['10.1.0.2', '10.2.0.2']);
  assert.throws(
    () => manager.setPolicy({ default: 'sometimes' } as never),
    (e: Error & { code?: string }) => e.code === 'ROAM_BAD_INPUT',
  );
  assert.equal(manager.policy.default, 'primary', 'a bad policy changes nothing');
  manager.close();
});

test('flowpaths on addresses the watcher never reported are left alone', () => {
  const { watcher, manager, session } = rig([WIFI], ['127.0.0.1']);
  manager.manage(session);
  watcher.set([]);
  assert.deepEqual(session.removed, []);
  assert.equal(session.migrations, 0);
  manager.close();
});

test('only addresses of the server family are opened', () => {
  const { watcher, manager, session } = rig([WIFI], ['10.1.0.2']);
  manager.manage(session);
  watcher.set([WIFI, addr('wlan0', '2001:db8::2', 64)]);
  assert.deepEqual(session.adds, []);
  manager.close();
});

test('a session that is not open is reconciled when it connects; close() cleans up', async () => {
  const { watcher, clock, manager, session } = rig([WIFI, CELL], []);
  session.state = 'connecting';
  manager.manage(session);
  assert.deepEqual(session.adds, []);
  session.state = 'open';
  session.paths.push({ pathId: 9, state: 'open', localAddress: '10.1.0.2' });
  session.emit('connect');
  assert.deepEqual(session.adds, ['10.2.0.2']);
  await session.settle('10.2.0.2', new Error('refused'));
  assert.equal(clock.pending.length, 1);
  manager.close();
  assert.equal(manager.state, 'closed');
  assert.equal(watcher.closed, true);
  assert.deepEqual(clock.pending, [], 'timers cancelled');
  assert.equal(session.listenerCount('path-up'), 0, 'listeners removed');
  assert.equal(watcher.listenerCount('change'), 0);
  assert.throws(() => manager.manage(session), /closed/);
});

test('a closing session is released; a closed one is not taken', () => {
  const { manager, session } = rig();
  manager.manage(session);
  session.emit('close');
  assert.equal(session.listenerCount('path-down'), 0);
  session.state = 'closed';
  manager.manage(session);
  assert.equal(session.listenerCount('close'), 0);
  manager.close();
});

test('createMobilityManager: bad options are ROAM_BAD_INPUT and start nothing', async () => {
  const watcher = new FakeWatcher([]);
  await assert.rejects(
    createMobilityManager({ watcher, policy: { rules: [{}] } as never }),
    (e: Error & { code?: string }) => e.code === 'ROAM_BAD_INPUT',
  );
  await assert.rejects(
    createMobilityManager({ watcher, retryMs: -1 }),
    (e: Error & { code?: string }) => e.code === 'ROAM_BAD_INPUT' && /retryMs/.test(e.message),
  );
  assert.equal(watcher.closed, false, 'bad options are refused before the watcher is taken');
  await assert.rejects(
    createMobilityManager({ watch: { intervalMs: 1 } }),
    (e: Error & { code?: string }) => e.code === 'ROAM_BAD_INPUT',
  );
});

test('the package root exports the mobility API', async () => {
  const roam = await import('../../src/index.js');
  for (const name of ['createMobilityManager', 'MobilityManager', 'watchAddresses', 'parsePolicy'])
    assert.equal(typeof (roam as Record<string, unknown>)[name], 'function', name);
});

test('a last flowpath the policy excludes stays until another is open (no migration)', async () => {
  const { manager, session } = rig([WIFI, CELL], ['10.1.0.2']);
  manager.manage(session);
  await session.settle('10.2.0.2');
  manager.setPolicy({
    rules: [
      { interface: 'wwan0', role: 'never' },
      { interface: 'wlan0', role: 'never' },
    ],
  });
  assert.equal(session.removed.length, 1, 'one of the two goes');
  assert.equal(session.openAddresses().length, 1, 'the last one stays');
  assert.equal(session.migrations, 0);
  const seen: string[] = [];
  manager.on('policy', (p) => seen.push(p.default));
  manager.setPolicy({ default: 'backup' });
  assert.deepEqual(seen, ['backup']);
  assert.deepEqual(
    manager.addresses().map((a) => [a.address, a.verdict.role]),
    [
      ['10.1.0.2', 'backup'],
      ['10.2.0.2', 'backup'],
    ],
  );
  manager.close();
});
