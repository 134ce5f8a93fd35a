import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { test } from 'node:test';
import { UplinkProber } from '../../src/gateway/health/prober.js';
import { ManualClock } from './helpers.js';

/** A prober whose probe sockets the test answers by hand. */
function rig(source: () => string | undefined = () => '10.0.0.2') {
  const clock = new ManualClock();
  const sockets: Array<{ socket: Socket; target: string; from: string }> = [];
  const answers: Array<{ sentAt: number; now: number }> = [];
  const prober = new UplinkProber({
    targets: [
      { host: '203.0.113.10', port: 80 },
      { host: '203.0.113.11', port: 9 },
    ],
    intervalMs: 100,
    timeoutMs: 1000,
    source,
    clock,
    connect: (t, localAddress) => {
      const socket = new Socket();
      sockets.push({ socket, target: `${t.host}:${t.port}`, from: localAddress });
      return socket;
    },
    onAnswer: (sentAt, now) => answers.push({ sentAt, now }),
  });
  return { clock, sockets, answers, prober };
}

const refused = () => Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
const unreachable = () => Object.assign(new Error('unreachable'), { code: 'EHOSTUNREACH' });

test('one probe per interval from the uplink address, targets in turn; a SYN-ACK or a reset answers', () => {
  const { clock, sockets, answers, prober } = rig();
  prober.start();
  assert.equal(sockets.length, 1);
  clock.advance(100);
  clock.advance(100);
  assert.deepEqual(
    sockets.map((s) => [s.target, s.from]),
    [
      ['203.0.113.10:80', '10.0.0.2'],
      ['203.0.113.11:9', '10.0.0.2'],
      ['203.0.113.10:80', '10.0.0.2'],
    ],
  );
  clock.advance(30);
  sockets[0]?.socket.emit('connect');
  sockets[1]?.socket.emit('error', refused());
  sockets[2]?.socket.emit('error', unreachable());
  assert.deepEqual(answers, [
    { sentAt: 0, now: 230 },
    { sentAt: 100, now: 230 },
  ]);
  assert.ok(
    sockets.every((s) => s.socket.destroyed),
    'every answered or failed probe is closed',
  );
  assert.ok(Math.abs((prober.rttMs ?? 0) - (230 + (130 - 230) / 8)) < 1e-9, 'smoothed RTT');
  assert.equal(prober.loss, 1 / 3);
  prober.stop();
  assert.equal(clock.pending.length, 0, 'no timer left');
});

test('an unanswered probe is lost after the timeout and its socket closed: at most timeout/interval open', () => {
  const { clock, sockets, answers, prober } = rig();
  prober.start();
  clock.advance(5000);
  const open = sockets.filter((s) => !s.socket.destroyed).length;
  assert.ok(open <= 11, `${open} probe sockets open`);
  assert.equal(answers.length, 0);
  assert.equal(prober.loss, 1);
  // A late answer to a probe already given up on counts for nothing.
  sockets[0]?.socket.emit('connect');
  assert.equal(answers.length, 0);
  prober.stop();
  assert.ok(sockets.every((s) => s.socket.destroyed));
  assert.equal(clock.pending.length, 0);
});

test('no address, no probe', () => {
  const address: { now: string | undefined } = { now: undefined };
  const { clock, sockets, prober } = rig(() => address.now);
  prober.start();
  clock.advance(300);
  assert.equal(sockets.length, 0);
  address.now = '10.0.0.3';
  clock.advance(100);
  assert.deepEqual(
    sockets.map((s) => s.from),
    ['10.0.0.3'],
  );
  prober.stop();
});
