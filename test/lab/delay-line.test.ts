import assert from 'node:assert/strict';
import { parsePing } from './ping.js';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { type TestContext, test } from 'node:test';
import { promisify } from 'node:util';
import { isRoamError } from '../../src/errors.js';
import { DelayLine, type DirectionParams } from '../../src/lab/wire/delay-line.js';
import { closeTun, openTun } from '../../src/tun/device.js';

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;
const ip = async (...args: string[]) => (await run('ip', args)).stdout;

const base: DirectionParams = {
  delayMs: 0,
  jitterMs: 0,
  loss: 0,
  stall: false,
  queuePackets: 1000,
  trace: null,
};

/**
 * Cleanups run last-in first-out (t.after alone runs in registration order), each even if an
 * earlier one failed: the line stops before its taps close, the taps before the namespaces go.
 */
function cleanupStack(t: TestContext): (fn: () => unknown) => void {
  const fns: (() => unknown)[] = [];
  t.after(async () => {
    const errors: unknown[] = [];
    for (const fn of fns.reverse()) {
      try {
        await fn();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, 'cleanup failed');
  });
  return (fn) => fns.push(fn);
}

// No IPv6 and no IGMP reports: nothing but the test's own frames crosses the line.
const QUIET = [
  'net.ipv6.conf.all.disable_ipv6=1',
  'net.ipv6.conf.default.disable_ipv6=1',
  'net.ipv4.igmp_link_local_mcast_reports=0',
];

interface Wire {
  defer: (fn: () => unknown) => void;
  nsA: string;
  fdA: number;
  fdB: number;
}

/**
 * A minimal wire: host namespaces A (10.77.0.1) and B (10.77.0.2), and a link namespace with
 * br-a = {veth to A, tap-a} and br-b = {veth to B, tap-b}. Neighbours are static, so no ARP
 * crosses the line either.
 */
async function buildWire(t: TestContext): Promise<Wire> {
  const defer = cleanupStack(t);
  const p = `roamd-${randomBytes(3).toString('hex')}`;
  const [nsA, nsB, nsL] = [`${p}-a`, `${p}-b`, `${p}-l`];
  for (const ns of [nsA, nsB, nsL]) {
    await ip('netns', 'add', ns);
    defer(() => ip('netns', 'del', ns));
    await run('ip', ['netns', 'exec', ns, 'sysctl', '-qw', ...QUIET]);
  }
  const tapA = openTun({ name: 'tap-a', mode: 'tap', netns: nsL, txQueueLen: 10000 });
  defer(() => closeTun(tapA));
  const tapB = openTun({ name: 'tap-b', mode: 'tap', netns: nsL, txQueueLen: 10000 });
  defer(() => closeTun(tapB));
  const inL = (...args: string[]) => ip('-n', nsL, ...args);
  for (const [side, ns] of [
    ['a', nsA],
    ['b', nsB],
  ] as const) {
    await inL('link', 'add', `v${side}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    await inL('link', 'add', `br-${side}`, 'type', 'bridge');
    await inL('link', 'set', `v${side}`, 'master', `br-${side}`, 'up');
    await inL('link', 'set', `tap-${side}`, 'master', `br-${side}`, 'up');
    await inL('link', 'set', `br-${side}`, 'up');
    await ip(
      '-n',
      ns,
      'addr',
      'add',
      side === 'a' ? '10.77.0.1/24' : '10.77.0.2/24',
      'dev',
      'eth0',
    );
    await ip('-n', ns, 'link', 'set', 'eth0', 'up');
  }
  const mac = async (ns: string) =>
    (JSON.parse(await ip('-j', '-n', ns, 'link', 'show', 'eth0')) as { address: string }[])[0]
      ?.address ?? '';
  await ip('-n', nsA, 'neigh', 'replace', '10.77.0.2', 'lladdr', await mac(nsB), 'dev', 'eth0');
  await ip('-n', nsB, 'neigh', 'replace', '10.77.0.1', 'lladdr', await mac(nsA), 'dev', 'eth0');
  return { defer, nsA, fdA: tapA.fd, fdB: tapB.fd };
}

function startLine(wire: Wire, ab: DirectionParams, ba = ab): DelayLine {
  const line = new DelayLine(wire.fdA, wire.fdB, ab, ba, { seed: 42 });
  wire.defer(() => line.close());
  return line;
}

/** ping from A to B; ping exits 1 when replies are missing, which is a result here. */
async function ping(wire: Wire, count: number, intervalS: number, ...extra: string[]) {
  const args = ['netns', 'exec', wire.nsA, 'ping', '-n', '-c', `${count}`];
  args.push('-i', `${intervalS}`, '-W', '1', ...extra, '10.77.0.2');
  const out = await run('ip', args).then(
    (r) => r.stdout,
    (err: { code?: number; stdout?: string }) => {
      if (err.code === 1 && err.stdout) return err.stdout;
      throw err;
    },
  );
  return parsePing(out);
}

function skipUnlessRoot(t: TestContext): boolean {
  if (!isRoot) t.skip('needs root: builds namespaces, bridges and taps');
  return !isRoot;
}

test('invalid parameters are refused with the offending value', () => {
  const bad = (p: Partial<DirectionParams>, pattern: RegExp) =>
    assert.throws(
      () => new DelayLine(100, 101, { ...base, ...p }, base),
      (err) => isRoamError(err, 'ROAM_BAD_INPUT') && pattern.test(err.message),
    );
  bad({ loss: 2 }, /^ab: loss must be within 0\.\.1, got 2$/);
  bad({ delayMs: -1 }, /delayMs must be within/);
  bad({ jitterMs: Number.NaN }, /jitterMs must be within/);
  bad({ queuePackets: 0 }, /queuePackets/);
  bad({ trace: { opportunitiesMs: [5, 1], periodMs: 5 } }, /trace/);
});

test('delay, loss, stall and run-time changes on a real wire', async (t) => {
  if (skipUnlessRoot(t)) return;
  const wire = await buildWire(t);
  const line = startLine(wire, { ...base, delayMs: 20 });

  await t.test('RTT is twice the one-way delay, within 1 ms', async () => {
    const r = await ping(wire, 20, 0.05);
    assert.equal(r.received, 20);
    assert.ok(Math.abs(r.medianMs - 40) < 1, `median RTT ${r.medianMs} ms`);
  });

  await t.test('set() changes the delay at run time', async () => {
    line.set('ab', { delayMs: 5 });
    line.set('ba', { delayMs: 5 });
    const fast = await ping(wire, 10, 0.05);
    assert.ok(Math.abs(fast.medianMs - 10) < 1, `median RTT ${fast.medianMs} ms`);
    line.set('ab', { delayMs: 30 });
    const slow = await ping(wire, 10, 0.05);
    assert.ok(Math.abs(slow.medianMs - 35) < 1, `median RTT ${slow.medianMs} ms`);
  });

  await t.test('jitter spreads the delay within its bounds', async () => {
    line.set('ab', { delayMs: 20, jitterMs: 5 });
    line.set('ba', { delayMs: 20 });
    const r = await ping(wire, 20, 0.05);
    assert.equal(r.received, 20);
    // 40 ± 5 ms. Never early; late only by the host's scheduling, which on a loaded CI
    // machine once held one reply of twenty 7 ms past the bound: allow a straggler.
    const within = r.timesMs.filter((ms) => ms <= 47.5).length;
    assert.ok(r.minMs >= 35 && within >= r.received - 2, JSON.stringify(r));
    assert.ok(r.medianMs >= 36 && r.medianMs <= 44, JSON.stringify(r));
    assert.ok(r.maxMs - r.minMs > 1, `jitter visible: ${JSON.stringify(r)}`);
    line.set('ab', { jitterMs: 0 });
  });

  await t.test('loss drops about that share of frames', async () => {
    line.set('ab', { delayMs: 1, loss: 0.3 });
    line.set('ba', { delayMs: 1 });
    const before = line.stats().ab.dropLoss;
    const n = 300;
    const r = await ping(wire, n, 0.003);
    const lost = r.sent - r.received;
    // Binomial(300, 0.3): mean 90, sd 7.9; +-4 sd.
    assert.ok(lost >= 58 && lost <= 122, `lost ${lost} of ${r.sent}`);
    assert.equal(line.stats().ab.dropLoss - before, lost, 'every lost ping was a loss drop');
    line.set('ab', { loss: 0 });
  });

  await t.test('stall drops everything silently until lifted', async () => {
    line.set('ab', { stall: true });
    const before = line.stats().ab.dropStall;
    const r = await ping(wire, 5, 0.05);
    assert.equal(r.received, 0);
    assert.ok(line.stats().ab.dropStall - before >= 5);
    line.set('ab', { stall: false });
    assert.equal((await ping(wire, 3, 0.05)).received, 3);
  });

  await t.test('counters add up and nothing is left held', () => {
    const { ab, ba } = line.stats();
    for (const d of [ab, ba]) {
      assert.equal(d.rxPackets, d.txPackets + d.dropLoss + d.dropStall + d.dropQueue + d.held);
      assert.equal(d.dropError, 0);
    }
    assert.equal(ab.held + ba.held, 0);
  });
});

/** Sends `bursts` bursts of five 1400-byte UDP datagrams from A to B, one burst per 10 ms. */
async function blastUdp(wire: Wire, bursts: number): Promise<void> {
  const script = `
    const s = require('node:dgram').createSocket('udp4');
    const buf = Buffer.alloc(1400);
    let n = 0, sent = 0;
    const done = () => { if (++sent === ${bursts * 5}) s.close(); };
    const t = setInterval(() => {
      for (let i = 0; i < 5; i++) s.send(buf, 9, '10.77.0.2', done);
      if (++n === ${bursts}) clearInterval(t);
    }, 10);`;
  await run('ip', ['netns', 'exec', wire.nsA, process.execPath, '-e', script]);
}

async function until(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('a bandwidth trace caps delivery to its opportunities', async (t) => {
  if (skipUnlessRoot(t)) return;
  const wire = await buildWire(t);
  // One 1504-byte opportunity every 10 ms (1.2 Mbit/s) and a 5-frame queue; the sender
  // offers 5 frames per 10 ms.
  const trace = { opportunitiesMs: [10], periodMs: 10 };
  const line = startLine(wire, { ...base, trace, queuePackets: 5 }, base);
  const started = performance.now();
  await blastUdp(wire, 50);
  await until('the trace queue to drain', () => line.stats().ab.held === 0, 2000);
  const elapsedMs = performance.now() - started;
  const { ab } = line.stats();
  assert.equal(ab.rxPackets, 250);
  assert.ok(ab.txPackets <= elapsedMs / 10 + 2, `${ab.txPackets} frames in ${elapsedMs} ms`);
  assert.ok(ab.txPackets >= 45, `${ab.txPackets} frames delivered in 500+ ms`);
  assert.equal(ab.dropQueue, ab.rxPackets - ab.txPackets);
});
