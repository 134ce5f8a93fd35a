import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createScheduler, type SchedulerName } from '../../src/multipath/scheduler.js';
import { MultipathSender, type SenderPath } from '../../src/multipath/sender.js';
import { SendBuffer } from '../../src/stream/send-buffer.js';

/** A flowpath that records what it is given; the test plays the network and the peer. */
class FakePath implements SenderPath {
  frames: { seq: number; length: number; fin: boolean }[] = [];
  sent = 0;
  isOpen = true;
  canWrite = true;
  constructor(
    readonly id: number,
    readonly rtt: number,
  ) {}
  writable = () => this.canWrite && this.isOpen;
  open = () => this.isOpen;
  sendData = (seq: number, payload: Buffer, fin: boolean) => {
    this.frames.push({ seq, length: payload.length, fin });
    this.sent += payload.length + (fin ? 1 : 0);
  };
  cork = () => undefined;
  uncork = () => undefined;
  minRttMs = () => this.rtt;
  rttAvgMs = () => this.rtt;
  policy = () => ({ preferred: true, cost: 0, byteCap: Infinity });
  /** Stream bytes this path was given, as [seq, end) pairs. */
  ranges(): [number, number][] {
    return this.frames.map((f) => [f.seq, f.seq + f.length + (f.fin ? 1 : 0)]);
  }
}

function rig(scheduler: SchedulerName = 'aggregate', bytes = 1024 * 1024) {
  let now = 0;
  const output = new SendBuffer(64 * 1024 * 1024);
  output.append(Buffer.alloc(bytes, 1));
  const sender = new MultipathSender(output, createScheduler(scheduler), {
    maxFrameBytes: 64 * 1024,
    now: () => now,
  });
  return {
    output,
    sender,
    advance: (ms: number) => (now += ms),
  };
}

test('nothing is sent at or past the peer window edge: s − a ≤ b across all paths', () => {
  const { sender } = rig();
  const a = new FakePath(1, 10);
  const b = new FakePath(2, 40);
  sender.addPath(a, 0);
  sender.addPath(b, 0);
  for (let round = 0; round < 10; round++) {
    sender.pump(0, 300_000, undefined);
    sender.onPathAck(1, a.sent);
    sender.onPathAck(2, b.sent);
  }
  const all = [...a.ranges(), ...b.ranges()];
  assert.ok(all.length > 0);
  for (const [, end] of all) assert.ok(end <= 300_000, `sent up to ${end}`);
  assert.equal(sender.sendNext, 300_000, 'everything inside the window went out');
  // Every byte below the edge went out exactly once.
  const covered = all.sort((x, y) => x[0] - y[0]);
  let at = 0;
  for (const [seq, end] of covered) {
    assert.equal(seq, at);
    at = end;
  }
});

/** Bytes a path that has not delivered anything yet may hold (sender.ts INITIAL_CAP). */
const INITIAL_CAP = 64 * 1024;

test('per-path caps: a path that delivered nothing yet holds at most its initial cap', () => {
  const { sender } = rig('aggregate', 8 * 1024 * 1024);
  const a = new FakePath(1, 10);
  const b = new FakePath(2, 40);
  sender.addPath(a, 0);
  sender.addPath(b, 0);
  sender.pump(0, 8 * 1024 * 1024, undefined);
  assert.ok(a.sent > 0 && a.sent <= INITIAL_CAP + 64 * 1024, `A holds ${a.sent}`);
  assert.ok(b.sent <= INITIAL_CAP + 64 * 1024, `B holds ${b.sent}`);
  // Deliveries open room again.
  const first = a.sent;
  sender.onPathAck(1, a.sent);
  sender.pump(0, 8 * 1024 * 1024, undefined);
  assert.ok(a.sent > first, `A got more after delivering (${first} -> ${a.sent})`);
});

test('holdBack: a lone path is capped as if others were there; without it, it takes all', () => {
  const held = rig('aggregate', 4 * 1024 * 1024);
  held.sender.holdBack = true;
  const a = new FakePath(1, 20);
  held.sender.addPath(a, 0);
  held.sender.pump(0, 4 * 1024 * 1024, undefined);
  assert.ok(a.sent > 0 && a.sent <= INITIAL_CAP + 64 * 1024, `held: A took ${a.sent}`);
  // The rest waits in the output buffer for the path that joins.
  const b = new FakePath(2, 80);
  held.sender.addPath(b, 0);
  held.sender.pump(0, 4 * 1024 * 1024, undefined);
  assert.ok(b.sent > 0, 'the joining path gets data at once');

  const free = rig('aggregate', 4 * 1024 * 1024);
  const c = new FakePath(1, 20);
  free.sender.addPath(c, 0);
  free.sender.pump(0, 4 * 1024 * 1024, undefined);
  assert.equal(c.sent, 4 * 1024 * 1024, 'without holdBack a lone path takes the whole window');
});

test('a path that dies: what it held and the peer lacks goes on the other, once', () => {
  const { sender } = rig('aggregate', 512 * 1024);
  const a = new FakePath(1, 10);
  const b = new FakePath(2, 40);
  sender.addPath(a, 0);
  sender.addPath(b, 0);
  sender.pump(0, 512 * 1024, undefined);
  const lost = a.ranges();
  const ack = 64 * 1024; // the peer has the first 64 KiB
  a.isOpen = false;
  sender.removePath(1, ack);
  sender.onAck(ack);
  sender.onPathAck(2, b.sent); // B drained: room for the resend
  const before = b.frames.length;
  const scheduled = sender.sendNext;
  sender.pump(ack, 512 * 1024, undefined);
  const resent = b.frames
    .slice(before)
    .filter((f) => f.seq < scheduled)
    .map((f) => [f.seq, f.seq + f.length] as [number, number]);
  const want = lost
    .map(([s, e]) => [Math.max(s, ack), e] as [number, number])
    .filter(([s, e]) => e > s);
  const bytes = (rs: [number, number][]) => rs.reduce((n, [s, e]) => n + e - s, 0);
  assert.equal(bytes(resent), bytes(want));
  for (const [s] of resent) assert.ok(s >= ack);
});

test('a path silent with bytes in flight is suspect after max(200 ms, 2 RTT + 40): resent, no new data', () => {
  const { sender, advance } = rig('aggregate', 4 * 1024 * 1024);
  const a = new FakePath(1, 10);
  const b = new FakePath(2, 40);
  const events: [number, boolean][] = [];
  sender.onSuspect = (id, s) => events.push([id, s]);
  sender.addPath(a, 0);
  sender.addPath(b, 0);
  sender.pump(0, 4 * 1024 * 1024, undefined);
  // B keeps delivering; A says nothing.
  advance(150);
  sender.onPathAck(2, b.sent);
  assert.ok(sender.check(0) <= 50 + 1, 'next look when A reaches 200 ms of silence');
  assert.deepEqual(events, []);
  advance(60);
  sender.onPathAck(2, b.sent);
  // The session arms its timer with nextCheckMs and lets the timer decide (and pump after):
  // asking must not decide, or the bytes it moves would wait for some later pump.
  assert.equal(sender.nextCheckMs(), 0, 'A is due now');
  assert.deepEqual(events, [], 'nextCheckMs decides nothing');
  sender.check(0);
  assert.deepEqual(events, [[1, true]]);
  assert.equal(sender.nextCheckMs(), Infinity, 'B alone healthy: nothing to decide');
  const aFrames = a.frames.length;
  sender.pump(0, 4 * 1024 * 1024, undefined);
  assert.equal(a.frames.length, aFrames, 'no new data on a suspect path');
  assert.ok(b.frames.some((f) => f.seq === 0 || a.ranges().some(([s]) => s === f.seq)));
  // A delivers everything it held: healthy again.
  sender.onPathAck(1, a.sent);
  assert.deepEqual(events, [
    [1, true],
    [1, false],
  ]);
});

test('while a path is suspect the survivor keeps to its cap; re-sent bytes go first, in small frames', () => {
  const size = 16 * 1024 * 1024;
  const { sender, advance } = rig('aggregate', size);
  const a = new FakePath(1, 20);
  const b = new FakePath(2, 80);
  sender.addPath(a, 0);
  sender.addPath(b, 0);
  // Both deliver at their pace (A 2.5 MB/s, B 1 MB/s) for a second: rates measured.
  let aGot = 0;
  let bGot = 0;
  const deliverB = () => {
    bGot = Math.min(b.sent, bGot + 10 * 1000);
    sender.onPathAck(2, bGot);
  };
  for (let t = 0; t < 1000; t += 10) {
    sender.pump(0, size, undefined);
    advance(10);
    aGot = Math.min(a.sent, aGot + 10 * 2500);
    sender.onPathAck(1, aGot);
    deliverB();
  }
  // A goes silent with bytes in flight; B keeps delivering until A is suspect.
  assert.ok(a.sent > aGot, 'A has bytes in flight');
  const aFrom = aGot;
  for (let t = 0; t < 250 && !sender.stats(1)?.suspect; t += 10) {
    advance(10);
    deliverB();
    sender.check(0);
  }
  assert.equal(sender.stats(1)?.suspect, true, 'A is suspect');
  const before = b.frames.length;
  sender.pump(0, size, undefined);
  const stB = sender.stats(2);
  assert.ok(stB);
  assert.ok(
    stB.inflightBytes <= stB.capBytes + 8 * 1024,
    `B holds ${stB.inflightBytes} with a cap of ${stB.capBytes}`,
  );
  // A's undelivered ranges, by their place in A's own byte count.
  let pathAt = 0;
  const lost: [number, number][] = [];
  for (const f of a.frames) {
    if (pathAt + f.length > aFrom) lost.push([f.seq, f.seq + f.length]);
    pathAt += f.length;
  }
  const fresh = b.frames.slice(before);
  assert.ok(fresh.length > 0, 'B got more to send');
  assert.equal(fresh[0]?.seq, lost[0]?.[0], 'the oldest byte A held goes first');
  const resent = fresh.filter((f) => lost.some(([s, e]) => f.seq >= s && f.seq < e));
  assert.ok(resent.length > 0);
  for (const f of resent) assert.ok(f.length <= 8 * 1024, `re-sent frame of ${f.length}`);
});

test('a path removed with one left: its bytes go again on the survivor in small frames first', () => {
  const { sender } = rig('aggregate', 2 * 1024 * 1024);
  const a = new FakePath(1, 10);
  const b = new FakePath(2, 40);
  sender.addPath(a, 0);
  sender.addPath(b, 0);
  sender.pump(0, 2 * 1024 * 1024, undefined);
  const lost = a.ranges();
  a.isOpen = false;
  sender.removePath(1, 0);
  sender.onPathAck(2, b.sent);
  const before = b.frames.length;
  sender.pump(0, 2 * 1024 * 1024, undefined);
  // The survivor keeps to its cap until the re-send is through: no burst into its socket.
  const held = sender.stats(2);
  assert.ok(held && held.inflightBytes <= held.capBytes + 8 * 1024, JSON.stringify(held));
  for (let i = 0; i < 100 && b.sent < 2 * 1024 * 1024; i++) {
    sender.onPathAck(2, b.sent);
    sender.pump(0, 2 * 1024 * 1024, undefined);
  }
  const lostSeqs = lost.map(([s, e]) => [s, e] as const);
  const resent = b.frames
    .slice(before)
    .filter((f) => lostSeqs.some(([s, e]) => f.seq >= s && f.seq < e));
  const bytes = resent.reduce((n, f) => n + f.length, 0);
  assert.equal(
    bytes,
    lost.reduce((n, [s, e]) => n + e - s, 0),
    'all of it, once',
  );
  for (const f of resent) assert.ok(f.length <= 8 * 1024, `re-sent frame of ${f.length}`);
  assert.equal(b.frames[before]?.seq, lost[0]?.[0], 'the oldest lost byte goes first');
});

test('FIN is sent once after the last byte, and again on another path if its path dies', () => {
  const { sender, output } = rig('aggregate', 1000);
  const fin = output.endSeq;
  const a = new FakePath(1, 10);
  const b = new FakePath(2, 40);
  sender.addPath(a, 0);
  sender.addPath(b, 0);
  sender.pump(0, 1_000_000, fin);
  const finFrames = [...a.frames, ...b.frames].filter((f) => f.fin);
  assert.equal(finFrames.length, 1);
  assert.equal(finFrames[0]?.seq, fin);
  const owner = a.frames.some((f) => f.fin) ? a : b;
  const other = owner === a ? b : a;
  owner.isOpen = false;
  sender.removePath(owner.id, 0);
  sender.onPathAck(other.id, other.sent);
  sender.pump(0, 1_000_000, fin);
  assert.ok(other.frames.some((f) => f.fin && f.seq === fin));
});

test('redundant: every path gets the whole stream', () => {
  const { sender } = rig('redundant', 300_000);
  const a = new FakePath(1, 10);
  const b = new FakePath(2, 40);
  sender.addPath(a, 0);
  sender.addPath(b, 0);
  sender.pump(0, 1_000_000, undefined);
  assert.equal(a.sent, 300_000);
  assert.equal(b.sent, 300_000);
});
