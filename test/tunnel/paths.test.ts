import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BestPathChooser, HOLD_MS, type PathView } from '../../src/tunnel/best-path.js';
import { decodeControl, encodeControl } from '../../src/tunnel/control-message.js';
import { networkOf, servePlan, upPlan } from '../../src/tunnel/host-plan.js';
import { PathMonitor } from '../../src/tunnel/path-monitor.js';

describe('path monitor (moving average of 5, hysteresis)', () => {
  test('RTT and loss are means over the last 5 probes', () => {
    const m = new PathMonitor(0);
    for (const rtt of [100, 10, 20, 30, 40, 50]) m.answered(rtt, 0);
    assert.equal(m.rttMs, 30);
    m.lost(0);
    assert.equal(m.loss, 0.2);
  });

  test('up after 3 answers, down after 2 losses in a row, not after 1', () => {
    const m = new PathMonitor(0);
    m.answered(10, 1);
    m.answered(10, 2);
    assert.equal(m.state, 'unknown');
    m.answered(10, 3);
    assert.equal(m.state, 'up');
    m.lost(4);
    assert.equal(m.state, 'up');
    m.answered(10, 5);
    m.lost(6);
    assert.equal(m.state, 'up');
    m.lost(7);
    assert.equal(m.state, 'down');
    assert.equal(m.changedAtMs, 7);
    m.answered(10, 8);
    m.answered(10, 9);
    assert.equal(m.state, 'down');
    m.answered(10, 10);
    assert.equal(m.state, 'up');
  });

  test('the probe timeout follows the RTT within 100..1000 ms', () => {
    const m = new PathMonitor(0);
    assert.equal(m.timeoutMs(), 1000);
    m.answered(10, 0);
    assert.equal(m.timeoutMs(), 100);
    for (let i = 0; i < 5; i++) m.answered(100, 0);
    assert.equal(m.timeoutMs(), 350);
    for (let i = 0; i < 5; i++) m.answered(900, 0);
    assert.equal(m.timeoutMs(), 1000);
  });
});

const view = (
  state: PathView['state'],
  rttMs: number,
  role: PathView['role'] = 'primary',
  cost = 0,
): PathView => ({
  state,
  rttMs,
  role,
  cost,
});

describe('best-path chooser', () => {
  test('takes the fastest up path; leaves a down one at once', () => {
    const c = new BestPathChooser();
    assert.equal(c.choose([view('up', 10), view('up', 40)], 0), 0);
    assert.equal(c.choose([view('down', 10), view('up', 40)], 1), 1);
  });

  test('hysteresis: a faster path must stay clearly faster for HOLD_MS', () => {
    const c = new BestPathChooser();
    assert.equal(c.choose([view('up', 50), view('unknown', 10)], 0), 0);
    // Path 1 comes up faster: no move before HOLD_MS.
    assert.equal(c.choose([view('up', 50), view('up', 10)], 100), 0);
    assert.equal(c.choose([view('up', 50), view('up', 10)], 100 + HOLD_MS - 1), 0);
    assert.equal(c.choose([view('up', 50), view('up', 10)], 100 + HOLD_MS), 1);
    // Only slightly faster (within 20% and 5 ms): stays.
    assert.equal(c.choose([view('up', 9), view('up', 10)], 10_000), 1);
    assert.equal(c.choose([view('up', 9), view('up', 10)], 20_000), 1);
  });

  test('a wobble resets the hold time', () => {
    const c = new BestPathChooser();
    c.choose([view('up', 10), view('up', 50)], 0);
    c.choose([view('up', 50), view('up', 10)], 0);
    c.choose([view('up', 10), view('up', 10)], HOLD_MS / 2);
    assert.equal(c.choose([view('up', 50), view('up', 10)], HOLD_MS), 0);
  });

  test('backups only when no primary is up; the cheaper of equals; pinning', () => {
    const c = new BestPathChooser();
    assert.equal(c.choose([view('up', 50), view('up', 10, 'backup')], 0), 0);
    assert.equal(c.choose([view('down', 50), view('up', 10, 'backup')], 1), 1);
    const d = new BestPathChooser();
    assert.equal(d.choose([view('up', 10, 'primary', 5), view('up', 10, 'primary', 1)], 0), 1);
    d.pin(0);
    assert.equal(d.choose([view('down', 10), view('up', 10)], 1), 0);
    d.pin(undefined);
    assert.equal(d.choose([view('down', 10), view('up', 10)], 2), 1);
  });
});

describe('control messages', () => {
  test('round trip; junk and out-of-range fields are refused', () => {
    const m = {
      t: 'mode' as const,
      mode: 'redundant' as const,
      paths: [0, 1],
      weights: [1, 1],
      active: 0,
    };
    assert.deepEqual(decodeControl(encodeControl(m)), m);
    for (const bad of [
      '',
      '{',
      '{"t":"mode"}',
      '{"t":"mode","mode":"x","paths":[],"weights":[]}',
      JSON.stringify({ ...m, paths: [9] }),
      JSON.stringify({ ...m, extra: 1 }),
    ]) {
      assert.equal(decodeControl(Buffer.from(bad)), undefined, bad);
    }
    assert.equal(decodeControl(Buffer.alloc(5000, 0x20)), undefined);
  });
});

describe('host plans', () => {
  test('serve: address, NAT out of the named interface, MSS clamping; teardown undoes them', () => {
    const p = servePlan({
      name: 'srv',
      device: 'roamtun0',
      address: '10.99.0.1/24',
      mtu: 1400,
      natOut: 'eth0',
    });
    const text = p.setup.map((c) => c.argv.join(' '));
    assert.ok(text.includes('ip addr add 10.99.0.1/24 dev roamtun0'));
    assert.ok(
      text.some(
        (t) => t.includes('-A POSTROUTING -s 10.99.0.0/24 -o eth0') && t.endsWith('MASQUERADE'),
      ),
    );
    assert.ok(text.some((t) => t.includes('TCPMSS --clamp-mss-to-pmtu')));
    const undo = p.teardown.map((c) => c.argv.join(' '));
    assert.equal(undo.length, p.setup.length - 2); // the address and link go with the device
    assert.ok(undo.every((t) => t.includes(' -D ')));
    assert.deepEqual(p.sysctls, { 'net.ipv4.ip_forward': '1' });
  });

  test('up: everything by default as two /1 routes, or the routes given', () => {
    const all = upPlan({ name: 'up', device: 't', address: '10.99.0.2/24', mtu: 1400, routes: [] });
    assert.ok(all.setup.some((c) => c.argv.join(' ') === 'ip route add 0.0.0.0/1 dev t'));
    assert.ok(all.setup.some((c) => c.argv.join(' ') === 'ip route add 128.0.0.0/1 dev t'));
    const some = upPlan({
      name: 'up',
      device: 't',
      address: '10.99.0.2/24',
      mtu: 1400,
      routes: ['10.7.0.0/24'],
    });
    assert.deepEqual(
      some.teardown.filter((c) => c.argv[0] === 'ip').map((c) => c.argv.join(' ')),
      ['ip route del 10.7.0.0/24 dev t'],
    );
  });

  test('networkOf', () => {
    assert.equal(networkOf('10.99.0.7/24'), '10.99.0.0/24');
    assert.equal(networkOf('192.168.1.130/25'), '192.168.1.128/25');
    assert.equal(networkOf('1.2.3.4/32'), '1.2.3.4/32');
    assert.equal(networkOf('1.2.3.4/0'), '0.0.0.0/0');
  });
});
