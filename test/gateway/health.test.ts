import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Transition, UplinkHealth } from '../../src/gateway/health/state-machine.js';

const limits = { stallMs: 1000, suspectMs: 500, recoverProbes: 3 };

/** Probes every 100 ms answered after `rtt` until `stallAt`; returns transitions with times. */
function run(
  h: UplinkHealth,
  from: number,
  to: number,
  opts: { rtt: number; stallAt?: number; resumeAt?: number },
) {
  const out: Transition[] = [];
  for (let now = from; now <= to; now += 10) {
    // answers arriving at `now` for probes sent at now - rtt (every 100 ms)
    const sent = now - opts.rtt;
    const stalled = (t: number) =>
      opts.stallAt !== undefined &&
      t >= opts.stallAt &&
      (opts.resumeAt === undefined || t < opts.resumeAt);
    if (sent >= 0 && sent % 100 === 0 && !stalled(sent) && !stalled(now)) {
      const t = h.handle({ kind: 'answer', sentAt: sent, now });
      if (t) out.push(t);
    }
    const t = h.handle({ kind: 'tick', now });
    if (t) out.push(t);
  }
  return out;
}

test('healthy probes keep the uplink up', () => {
  const h = new UplinkHealth(limits, 0);
  assert.deepEqual(run(h, 0, 5000, { rtt: 50 }), []);
  assert.equal(h.state, 'up');
});

test('a silent stall is declared within stallMs of its start, passing through suspect', () => {
  for (const rtt of [20, 100, 200]) {
    const h = new UplinkHealth(limits, 0);
    const stallAt = 2030;
    const ts = run(h, 0, 4000, { rtt, stallAt });
    assert.deepEqual(
      ts.map((t) => t.to),
      ['suspect', 'down'],
      `rtt ${rtt}`,
    );
    const down = ts[1] as Transition;
    assert.ok(down.at <= stallAt + limits.stallMs, `declared at ${down.at} (rtt ${rtt})`);
    assert.ok(
      down.at >= stallAt + limits.stallMs - rtt - 100,
      `not before the silence is real (rtt ${rtt})`,
    );
    assert.deepEqual(h.counters(), { transients: 0, failures: 1, lastFailureMs: null });
  }
});

test('a short stall is transient: suspect, then up, nothing fails', () => {
  const h = new UplinkHealth(limits, 0);
  const ts = run(h, 0, 4000, { rtt: 50, stallAt: 1000, resumeAt: 1600 });
  assert.deepEqual(
    ts.map((t) => t.to),
    ['suspect', 'up'],
  );
  assert.deepEqual(h.counters(), { transients: 1, failures: 0, lastFailureMs: null });
});

test('recovery needs recoverProbes answers to probes sent after the failure', () => {
  const h = new UplinkHealth(limits, 0);
  run(h, 0, 1000, { rtt: 50 });
  assert.equal(h.handle({ kind: 'link-down', now: 1000, why: 'link down' })?.to, 'down');
  // A late answer to a probe sent before the failure proves nothing.
  assert.equal(h.handle({ kind: 'answer', sentAt: 990, now: 1020 }), undefined);
  assert.equal(h.state, 'down');
  assert.equal(h.handle({ kind: 'answer', sentAt: 2000, now: 2050 })?.to, 'recovering');
  assert.equal(h.handle({ kind: 'answer', sentAt: 2100, now: 2150 }), undefined);
  const up = h.handle({ kind: 'answer', sentAt: 2200, now: 2250 });
  assert.equal(up?.to, 'up');
  assert.equal(h.counters().lastFailureMs, 1250);
  assert.equal(h.counters().failures, 1);
});

test('recovering falls back to down on silence, and that is the same failure', () => {
  const h = new UplinkHealth(limits, 0);
  h.handle({ kind: 'link-down', now: 100, why: 'link down' });
  assert.equal(h.handle({ kind: 'link-up', now: 500 })?.to, 'recovering');
  assert.equal(h.handle({ kind: 'tick', now: 1499 }), undefined);
  assert.equal(h.handle({ kind: 'tick', now: 1500 })?.to, 'down');
  assert.equal(h.counters().failures, 1);
});

test('link down acts at once from any state; link up only leaves down', () => {
  for (const setup of ['up', 'suspect'] as const) {
    const h = new UplinkHealth(limits, 0);
    if (setup === 'suspect') h.handle({ kind: 'tick', now: 600 });
    assert.equal(h.state, setup);
    const t = h.handle({ kind: 'link-down', now: 700, why: 'address removed' });
    assert.deepEqual(t, { from: setup, to: 'down', at: 700, reason: 'address removed' });
  }
  const h = new UplinkHealth(limits, 0);
  assert.equal(h.handle({ kind: 'link-up', now: 10 }), undefined);
  assert.equal(new UplinkHealth(limits, 0, 'down').state, 'down');
});

/** Ticks every 10 ms; probes answered `rtt` late; traffic arriving every 10 ms unless stalled. */
function loaded(
  h: UplinkHealth,
  to: number,
  opts: { rtt: number; baseRtt: number; traffic: boolean; stallAt?: number },
) {
  const out: Transition[] = [];
  const stalled = (t: number) => opts.stallAt !== undefined && t >= opts.stallAt;
  for (let now = 0; now <= to; now += 10) {
    const sent = now - opts.rtt;
    if (sent >= 0 && sent % 100 === 0 && !stalled(sent) && !stalled(now)) {
      const t = h.handle({ kind: 'answer', sentAt: sent, now });
      if (t) out.push(t);
    }
    if (opts.traffic && !stalled(now)) {
      const t = h.handle({ kind: 'delivered', sentAt: now - opts.baseRtt, now });
      if (t) out.push(t);
    }
    const t = h.handle({ kind: 'tick', now });
    if (t) out.push(t);
  }
  return out;
}

test('a busy uplink whose probes are answered late stays up while its traffic arrives', () => {
  // Probe answers queued 1.2 s behind data: on probes alone that is a failure...
  const alone = new UplinkHealth(limits, 0);
  assert.deepEqual(
    loaded(alone, 5000, { rtt: 1200, baseRtt: 100, traffic: false })
      .map((t) => t.to)
      .slice(0, 2),
    ['suspect', 'down'],
  );
  // ...but the flows' bytes keep coming: no suspicion at all.
  const h = new UplinkHealth(limits, 0);
  assert.deepEqual(loaded(h, 5000, { rtt: 1200, baseRtt: 100, traffic: true }), []);
  assert.equal(h.state, 'up');
});

test('a stall stops traffic and probes alike: declared within stallMs of its start', () => {
  const h = new UplinkHealth(limits, 0);
  const stallAt = 2030;
  const ts = loaded(h, 4000, { rtt: 100, baseRtt: 100, traffic: true, stallAt });
  assert.deepEqual(
    ts.map((t) => t.to),
    ['suspect', 'down'],
  );
  const down = ts[1] as Transition;
  assert.ok(down.at <= stallAt + limits.stallMs, `declared at ${down.at}`);
  assert.ok(down.at >= stallAt + limits.stallMs - 200, `not before the silence is real`);
});

test('traffic ends a suspicion but never brings a failed uplink back', () => {
  const h = new UplinkHealth(limits, 0);
  assert.equal(h.handle({ kind: 'tick', now: 600 })?.to, 'suspect');
  assert.equal(h.handle({ kind: 'delivered', sentAt: 550, now: 650 })?.to, 'up');
  assert.equal(h.handle({ kind: 'link-down', now: 700, why: 'link down' })?.to, 'down');
  assert.equal(h.handle({ kind: 'delivered', sentAt: 800, now: 900 }), undefined);
  assert.equal(h.state, 'down');
  assert.equal(h.counters().transients, 1);
});

test('a late answer does not flap suspect → up → suspect', () => {
  const h = new UplinkHealth(limits, 0);
  assert.equal(h.handle({ kind: 'tick', now: 600 })?.to, 'suspect');
  // Answered now, but sent 520 ms ago: the uplink worked then; that is no news.
  assert.equal(h.handle({ kind: 'answer', sentAt: 100, now: 620 }), undefined);
  assert.equal(h.state, 'suspect');
  assert.equal(h.handle({ kind: 'answer', sentAt: 400, now: 630 })?.to, 'up');
  assert.equal(h.counters().transients, 1);
});
