import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isRoamError, type RoamErrorCode } from '../../src/errors.js';
import { type LivenessOptions, type PathHealth, PathLiveness } from '../../src/session/liveness.js';

const code = (c: RoamErrorCode) => (err: unknown) => isRoamError(err, c);

/** A path driven by a manual clock: `at(t)` moves time forward, never back. */
function path(opts: Partial<LivenessOptions> = {}, start = 0) {
  let now = start;
  const p = new PathLiveness({ intervalMs: 1000, deadAfterMs: 5000, ...opts }, start);
  return {
    p,
    at(t: number) {
      assert.ok(t >= now, 'the test clock only moves forward');
      now = t;
      return this;
    },
    get now() {
      return now;
    },
    ping: () => p.nextPing(now)?.id,
    pong: (id: number) => p.onPong(id, now),
    data: () => p.onActivity(now),
    health: () => p.health(now),
    deadline: () => p.nextDeadline(now),
  };
}

test('the first ping goes out at once; the next after intervalMs; ids increase', () => {
  const t = path();
  assert.equal(t.health(), 'probing');
  assert.equal(t.ping(), 1);
  assert.equal(t.ping(), undefined); // not twice at the same instant
  assert.equal(t.deadline(), 1000); // RTO (1000) and interval (1000) both say t=1000
  t.at(40).pong(1);
  assert.equal(t.health(), 'ok');
  assert.equal(t.deadline(), 960);
  assert.equal(t.at(999).ping(), undefined);
  assert.equal(t.at(1000).ping(), 2);
  t.at(1030).pong(2);
  assert.equal(t.at(2000).ping(), 3);
  assert.deepEqual([t.p.rtt.samples, t.p.minRtt, t.p.latestRtt], [2, 30, 30]);
});

test('probing lasts until the first pong, whatever data arrives', () => {
  const t = path();
  t.ping();
  for (let ms = 100; ms <= 900; ms += 100) {
    t.at(ms).data();
    assert.equal(t.health(), 'probing');
  }
  t.at(950).pong(1);
  assert.equal(t.health(), 'ok');
  assert.equal(t.p.rtt.srtt, 950);
});

test('pings go out every interval even while earlier ones are unanswered; the RTO backs off', () => {
  const t = path({ intervalMs: 100, deadAfterMs: 60_000 });
  assert.equal(t.ping(), 1);
  assert.equal(t.at(99).ping(), undefined);
  // Ping 1 is unanswered, but our pings are the peer's sign of life from us: keep sending.
  assert.equal(t.at(100).ping(), 2);
  assert.equal(t.deadline(), 100);
  assert.equal(t.p.rtt.rto, 1000);
  assert.equal(t.at(1100).ping(), 3); // ping 1 has outlived the RTO: it backs off
  assert.equal(t.p.rtt.rto, 2000);
  t.at(1150).pong(1); // ping 1's late pong: a real (slow) round trip, settles 1 only
  assert.equal(t.p.latestRtt, 1150);
  t.at(1160).pong(3); // settles 2 and 3
  assert.equal(t.p.latestRtt, 60);
  assert.equal(t.p.rtt.samples, 2);
  t.at(1170).pong(2); // already settled by pong 3
  assert.equal(t.p.strayPongs, 1);
});

test('unknown, repeated and settled ids are strays: no RTT sample, but a sign of life', () => {
  const t = path();
  t.ping();
  t.at(10).pong(99);
  t.at(20).pong(0);
  assert.equal(t.p.strayPongs, 2);
  assert.equal(t.p.rtt.samples, 0);
  assert.equal(t.health(), 'probing');
  assert.equal(t.p.lastActivity, 20);
  t.at(30).pong(1);
  t.at(40).pong(1);
  assert.deepEqual([t.p.strayPongs, t.p.rtt.samples, t.p.latestRtt], [3, 1, 30]);
});

test('at most 16 unanswered pings are remembered; a pong for a forgotten one is a stray', () => {
  const t = path({
    intervalMs: 10,
    deadAfterMs: 1e9,
    rtt: { maxRtoMs: 10, minRtoMs: 10, initialRtoMs: 10 },
  });
  const ids: number[] = [];
  for (let ms = 0; ms <= 160; ms += 10) ids.push(t.at(ms).ping() ?? -1);
  assert.deepEqual(
    ids,
    Array.from({ length: 17 }, (_, i) => i + 1),
  );
  t.at(170).pong(1); // forgotten when ping 17 went out
  assert.deepEqual([t.p.strayPongs, t.p.rtt.samples], [1, 0]);
  t.at(175).pong(2);
  assert.deepEqual([t.p.strayPongs, t.p.rtt.samples, t.p.latestRtt], [1, 1, 165]);
});

test('slow: a pong far above the best RTT; ok again when one comes back in time', () => {
  const t = path(); // slowFactor 3: threshold 3 × 50 = 150
  t.ping();
  t.at(50).pong(1);
  assert.equal(t.health(), 'ok');
  t.at(1000).ping();
  t.at(1150).pong(2); // 150: not above the threshold
  assert.equal(t.health(), 'ok');
  t.at(2000).ping();
  t.at(2151).pong(3); // 151
  assert.equal(t.health(), 'slow');
  assert.equal(t.at(2900).health(), 'slow'); // stays slow without new evidence
  t.at(3000).ping();
  t.at(3060).pong(4);
  assert.equal(t.health(), 'ok');
  assert.equal(t.p.minRtt, 50);
});

test('slow: a ping unanswered past the threshold while data keeps the path alive', () => {
  const t = path();
  t.ping();
  t.at(50).pong(1); // threshold 150
  t.at(1000).ping();
  t.at(1001);
  assert.equal(t.deadline(), 150); // wake exactly when ping 2 turns late: t=1151
  for (let ms = 1010; ms <= 1150; ms += 10) {
    t.at(ms).data();
    assert.equal(t.health(), 'ok', `at ${ms}`);
  }
  assert.equal(t.at(1151).health(), 'slow');
  t.at(4000).data(); // pongs queue behind bulk data: slow, not dead
  assert.equal(t.at(5500).health(), 'slow');
  t.at(5600).pong(2); // rtt 4600: still slow
  assert.equal(t.health(), 'slow');
  const id = t.at(6000).ping() ?? -1;
  t.at(6040).pong(id); // in time
  assert.equal(t.health(), 'ok');
});

test('slowFloorMs: a 0 ms best RTT (coarse clock on a LAN) does not make 20 ms slow', () => {
  const t = path(); // floor 10: threshold 3 × max(0, 10) = 30
  t.ping();
  t.pong(1); // rtt 0
  assert.equal(t.p.minRtt, 0);
  t.at(1000).ping();
  t.at(1020).pong(2);
  assert.equal(t.health(), 'ok');
  t.at(2000).ping();
  t.at(2031).pong(3);
  assert.equal(t.health(), 'slow');
  const custom = path({ slowFactor: 2, slowFloorMs: 0 });
  custom.ping();
  custom.at(100).pong(1);
  custom.at(1000).ping();
  custom.at(1201).pong(2); // 201 > 2 × 100
  assert.equal(custom.health(), 'slow');
});

test('dead: no frame at all for deadAfterMs; frames and pongs keep the path alive', () => {
  const t = path();
  t.ping();
  t.at(50).pong(1);
  t.at(3000).data();
  assert.equal(t.at(7999).health(), 'ok');
  t.ping(); // the next ping would be due at 8999, its slow turn at 8150
  assert.equal(t.deadline(), 1); // death first: 3000 + 5000
  assert.equal(t.at(8000).health(), 'dead');
  const q = path();
  q.ping();
  assert.equal(q.at(4999).health(), 'probing');
  assert.equal(q.at(5000).health(), 'dead'); // probing → dead: never answered at all
});

test('dead is final, and decided by time: a frame after the deadline does not revive', () => {
  const t = path();
  t.ping();
  t.at(50).pong(1);
  t.at(6000).data(); // 5950 ms of silence passed before this frame was reported
  t.pong(2);
  assert.equal(t.health(), 'dead');
  assert.equal(t.p.lastActivity, 50);
  assert.equal(t.p.rtt.samples, 1);
  assert.equal(t.ping(), undefined);
  assert.equal(t.deadline(), Infinity);
  assert.equal(t.at(1e9).health(), 'dead');
});

test('nextDeadline: the earliest of next ping, the slow turn and death', () => {
  const t = path({ intervalMs: 1000, deadAfterMs: 1500 });
  t.ping();
  assert.equal(t.deadline(), 1000);
  t.at(20).pong(1);
  t.at(900).data();
  assert.equal(t.at(1000).ping(), 2);
  // threshold 3 × 20 = 60 → slow turn at 1061; ping due at 2000; dead at 900 + 1500 = 2400.
  assert.equal(t.deadline(), 61);
  assert.equal(t.at(1061).health(), 'slow');
  assert.equal(t.deadline(), 939); // next ping; the slow turn is past
  t.at(1061.5);
  assert.equal(t.deadline(), 939); // rounded up: never wake before the deadline
  assert.equal(t.at(2000).ping(), 3); // ping 2 outstanding longer than its RTO too
  assert.equal(t.deadline(), 400); // death at 2400 is first now
});

test('time going backwards or not finite is rejected', () => {
  const t = path({}, 100);
  assert.throws(() => t.p.health(99), code('ROAM_BAD_INPUT'));
  assert.throws(() => t.p.onActivity(NaN), code('ROAM_BAD_INPUT'));
  assert.throws(
    () => new PathLiveness({ intervalMs: 10, deadAfterMs: 30 }, NaN),
    code('ROAM_BAD_INPUT'),
  );
  assert.equal(t.p.health(100), 'probing');
});

test('options are validated', () => {
  const bad: LivenessOptions[] = [
    { intervalMs: 0, deadAfterMs: 100 },
    { intervalMs: NaN, deadAfterMs: 100 },
    { intervalMs: 100, deadAfterMs: 100 }, // an idle path would die between pings
    { intervalMs: 100, deadAfterMs: Infinity },
    { intervalMs: 100, deadAfterMs: 300, slowFactor: 1 },
    { intervalMs: 100, deadAfterMs: 300, slowFloorMs: -1 },
    { intervalMs: 100, deadAfterMs: 300, rtt: { minRtoMs: -5 } },
  ];
  for (const opts of bad)
    assert.throws(() => new PathLiveness(opts, 0), code('ROAM_BAD_INPUT'), JSON.stringify(opts));
  const ok = new PathLiveness({ intervalMs: 100, deadAfterMs: 300, rtt: { initialRtoMs: 300 } }, 0);
  assert.deepEqual(ok.options, {
    intervalMs: 100,
    deadAfterMs: 300,
    slowFactor: 3,
    slowFloorMs: 10,
  });
  assert.equal(ok.rtt.rto, 300);
});

// A caller that keeps exactly one timer must miss nothing: before the deadline it names,
// health does not change and no ping falls due unless a frame arrives.
type Event = { wait: number; kind: 'pong' | 'stray' | 'data' | 'nothing'; pick: number };

test('property: one timer at nextDeadline misses no ping and no transition', () => {
  // Also checked against a model of death: dead once any silence (no frame, no pong)
  // lasted deadAfterMs; frames after that moment change nothing.
  const event: fc.Arbitrary<Event> = fc.record({
    wait: fc.oneof(fc.nat(3000), fc.constant(0)),
    kind: fc.constantFrom('pong', 'stray', 'data', 'nothing'),
    pick: fc.nat(),
  });
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 2000 }),
      fc.integer({ min: 1, max: 4000 }),
      fc.array(event, { maxLength: 60 }),
      fc.integer({ min: 0, max: 1000 }).map((n) => n / 1000),
      (interval, extra, events, probe) => {
        const deadAfter = interval + extra;
        const t = path({ intervalMs: interval, deadAfterMs: deadAfter });
        let lastLife = 0;
        let deadModel = false;
        const observe = () => {
          if (t.now - lastLife >= deadAfter) deadModel = true;
        };
        const life = () => {
          observe();
          if (!deadModel) lastLife = t.now;
        };
        const sent: number[] = [];
        const sentAt: number[] = [];
        const history: PathHealth[] = [];
        // The caller's timer routine: send what is due, check health, arm one timer.
        const tick = () => {
          const id = t.ping();
          if (id !== undefined) {
            const previous = sentAt.at(-1);
            assert.ok(previous === undefined || t.now - previous >= interval, 'ping pacing');
            sent.push(id);
            sentAt.push(t.now);
          }
          const h = t.health();
          observe();
          assert.equal(h === 'dead', deadModel, `dead at ${t.now}, last life ${lastLife}`);
          if (h !== 'dead') assert.equal(h === 'probing', t.p.rtt.samples === 0, 'probing');
          history.push(h);
          return t.deadline();
        };
        let deadline = tick();
        for (const e of events) {
          if (deadline === Infinity) break;
          assert.ok(deadline >= 1, `deadline ${deadline} after tick: no busy loop`);
          // The caller wakes at the event or at its timer, whichever comes first. Anywhere
          // before the timer, with no frame arriving, nothing is due and health holds.
          const from = t.now;
          const step = Math.min(e.wait, deadline);
          const before = history.at(-1);
          t.at(from + Math.min(Math.floor(probe * step), deadline - 1));
          assert.equal(t.health(), before, 'no transition before the deadline');
          assert.equal(t.ping(), undefined, 'no ping due before the deadline');
          t.at(from + step);
          if (e.kind === 'pong' && sent.length > 0) {
            t.pong(sent[e.pick % sent.length] ?? 0);
            life();
          }
          if (e.kind === 'stray') {
            t.pong(-1 - e.pick);
            life();
          }
          if (e.kind === 'data') {
            t.data();
            life();
          }
          deadline = tick();
        }
        // Dead is absorbing; probing only ever comes first.
        const firstDead = history.indexOf('dead');
        if (firstDead >= 0) assert.ok(history.slice(firstDead).every((h) => h === 'dead'));
        const lastProbing = history.lastIndexOf('probing');
        assert.ok(history.slice(0, lastProbing + 1).every((h) => h === 'probing'));
        assert.deepEqual(
          sent,
          sent.map((_, i) => i + 1),
          'ids are 1, 2, 3, ...',
        );
      },
    ),
  );
});
