import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/names/clock.js';
import {
  Admission,
  type AdmissionReport,
  AdmissionTable,
  CookieJar,
  Pressure,
  resolveAdmissionOptions,
  sourceKey,
} from '../../src/session/admission/index.js';
import { encodeFrame, ErrorCode, FrameDecoder, type Frame } from '../../src/wire/index.js';

// Unit tests of admission control (issue 11) on a manual clock: cookies, the eviction
// order, per-source limits, pressure, options. No sockets, no sleeps.

const BIND = Buffer.concat([randomBytes(8), randomBytes(16)]);

describe('cookies', () => {
  const lifetime = 10_000;

  test('a cookie is valid for its source and HELLO, from lifetime/2 up to lifetime', () => {
    const clock = new ManualClock();
    const jar = new CookieJar(lifetime);
    const cookie = jar.mint('10.0.0.1', BIND, clock.now());
    assert.equal(cookie.length, 32);
    assert.equal(jar.check(cookie, '10.0.0.1', BIND, clock.now()), 'valid');
    clock.advance(lifetime / 2);
    assert.equal(jar.check(cookie, '10.0.0.1', BIND, clock.now()), 'valid', 'the next slot');
    clock.advance(lifetime / 2);
    assert.equal(jar.check(cookie, '10.0.0.1', BIND, clock.now()), 'expired');
    clock.advance(lifetime * 100);
    assert.equal(jar.check(cookie, '10.0.0.1', BIND, clock.now()), 'expired', 'long after');
  });

  test('wrong address, other HELLO, forged, from the future, from another server: invalid', () => {
    const clock = new ManualClock();
    const jar = new CookieJar(lifetime);
    const cookie = jar.mint('10.0.0.1', BIND, clock.now());
    const now = clock.now();
    assert.equal(jar.check(cookie, '10.0.0.2', BIND, now), 'invalid', 'another address');
    const otherBind = Buffer.from(BIND);
    otherBind[20] = (otherBind[20] ?? 0) ^ 1;
    assert.equal(jar.check(cookie, '10.0.0.1', otherBind, now), 'invalid', 'another HELLO');
    const forged = Buffer.from(cookie);
    randomBytes(28).copy(forged, 4); // the right slot, a guessed MAC
    assert.equal(jar.check(forged, '10.0.0.1', BIND, now), 'invalid', 'forged MAC');
    const flipped = Buffer.from(cookie);
    flipped[31] = (flipped[31] ?? 0) ^ 0x80;
    assert.equal(jar.check(flipped, '10.0.0.1', BIND, now), 'invalid', 'one bit flipped');
    const future = Buffer.from(cookie);
    future.writeUInt32BE(cookie.readUInt32BE(0) + 1, 0);
    assert.equal(jar.check(future, '10.0.0.1', BIND, now), 'invalid', 'a later slot');
    const older = Buffer.from(cookie);
    older.writeUInt32BE(cookie.readUInt32BE(0) - 1, 0); // a slot still in the window, our MAC
    assert.equal(jar.check(older, '10.0.0.1', BIND, now), 'invalid', 'slot changed');
    const other = new CookieJar(lifetime);
    assert.equal(other.check(cookie, '10.0.0.1', BIND, now), 'invalid', 'another secret');
    assert.equal(jar.check(cookie.subarray(0, 31), '10.0.0.1', BIND, now), 'invalid', 'short');
  });

  test('a cookie made just before the secret rotates still verifies after it', () => {
    const clock = new ManualClock(0);
    let keys = 0;
    const jar = new CookieJar(lifetime, (n) => {
      keys++;
      return randomBytes(n);
    });
    // The key changes every 12 slots of 5 s: mint in the last slot before the change.
    clock.advance(12 * 5000 - 1);
    const cookie = jar.mint('10.0.0.1', BIND, clock.now());
    clock.advance(2);
    assert.equal(jar.check(cookie, '10.0.0.1', BIND, clock.now()), 'valid');
    assert.equal(keys, 2, 'a new key was made for the new generation');
    assert.equal(
      jar.check(jar.mint('10.0.0.1', BIND, clock.now()), '10.0.0.1', BIND, clock.now()),
      'valid',
    );
  });
});

describe('the eviction order', () => {
  test('never-confirmed first (oldest first), then longest-detached; live never', () => {
    const clock = new ManualClock();
    const table = new AdmissionTable();
    const confirmed = new Set<string>();
    const add = (id: string, source = 's') => {
      table.add(id, source, clock.now(), () => confirmed.has(id));
      clock.advance(10);
    };
    add('live-1');
    add('unconfirmed-old');
    add('detached-late');
    add('detached-early');
    add('unconfirmed-young');
    add('live-2');
    for (const id of ['live-1', 'detached-late', 'detached-early', 'live-2']) confirmed.add(id);
    table.detach('detached-early', clock.now());
    clock.advance(100);
    table.detach('detached-late', clock.now());
    const order: string[] = [];
    for (let v = table.victim(); v; v = table.victim()) {
      order.push(`${v.standing} ${v.id}`);
      table.remove(v.id);
    }
    assert.deepEqual(order, [
      'unconfirmed unconfirmed-old',
      'unconfirmed unconfirmed-young',
      'detached detached-early',
      'detached detached-late',
    ]);
    assert.equal(table.size, 2, 'the two live sessions stay');
    assert.equal(table.standingOf('live-1'), 'live');
  });

  test('a detached session that comes back is live again, and the next victim is another', () => {
    const clock = new ManualClock();
    const table = new AdmissionTable();
    for (const id of ['a', 'b']) table.add(id, 's', clock.now(), () => true);
    table.detach('a', clock.now());
    clock.advance(5);
    table.detach('b', clock.now());
    assert.equal(table.victim()?.id, 'a');
    table.attach('a');
    assert.equal(table.standingOf('a'), 'live');
    assert.equal(table.victim()?.id, 'b');
    table.attach('b');
    assert.equal(table.victim(), undefined);
  });

  test('an unconfirmed session that lost its path is still unconfirmed; confirmed later, detached', () => {
    const clock = new ManualClock();
    const table = new AdmissionTable();
    let ok = false;
    table.add('x', 's', clock.now(), () => ok);
    table.detach('x', clock.now());
    assert.equal(table.standingOf('x'), 'unconfirmed');
    assert.equal(table.unconfirmedOf('s'), 1);
    ok = true;
    assert.equal(table.standingOf('x'), 'detached');
    assert.equal(table.detachedOf('s'), 1);
    assert.equal(table.unconfirmedOf('s'), 0);
  });

  test('overdue: only never-confirmed sessions past the timeout', () => {
    const clock = new ManualClock();
    const table = new AdmissionTable();
    const confirmed = new Set(['c']);
    for (const id of ['u1', 'c', 'u2']) {
      table.add(id, 's', clock.now(), () => confirmed.has(id));
      clock.advance(1000);
    }
    // u1 at 0, c at 1000, u2 at 2000; now 3000.
    assert.deepEqual(table.overdue(clock.now(), 5000), []);
    clock.advance(2000);
    assert.deepEqual(
      table.overdue(clock.now(), 5000).map((v) => v.id),
      ['u1'],
    );
    clock.advance(2000);
    assert.deepEqual(
      table.overdue(clock.now(), 5000).map((v) => v.id),
      ['u1', 'u2'],
    );
  });
});

function admission(options: Record<string, unknown>, maxSessions = 4) {
  const clock = new ManualClock();
  const a = new Admission(resolveAdmissionOptions(options, maxSessions), maxSessions, () =>
    clock.now(),
  );
  const reports: AdmissionReport[] = [];
  a.on('report', (r) => reports.push(r));
  return { a, clock, reports };
}

describe('admission decisions', () => {
  test('a full table evicts for a newcomer, but never a live session', () => {
    const { a, reports } = admission({ cookie: 'never' }, 2);
    a.sessionAdded('one', '10.0.0.1', () => true);
    a.sessionAdded('two', '10.0.0.2', () => true);
    assert.deepEqual(a.onHello('10.0.0.3', BIND, undefined, 2), {
      kind: 'refuse',
      code: ErrorCode.LIMIT,
      reason: 'too many sessions',
    });
    assert.equal(a.counters.refusedFull, 1);
    assert.deepEqual(a.sessionDetached('two'), []);
    const v = a.onHello('10.0.0.3', BIND, undefined, 2);
    assert.equal(v.kind, 'admit');
    assert.equal(v.kind === 'admit' && v.evict?.id, 'two');
    assert.equal(a.counters.evictedDetached, 1);
    assert.ok(reports.some((r) => r.kind === 'evicted' && r.id === 'two'));
  });

  test('per-source unconfirmed limit: that source is refused, another is not', () => {
    const { a, reports } = admission({ cookie: 'never', maxUnconfirmedPerSource: 2 }, 100);
    a.sessionAdded('a1', '10.0.0.1', () => false);
    a.sessionAdded('a2', '10.0.0.1', () => false);
    const v = a.onHello('10.0.0.1', BIND, undefined, 2);
    assert.equal(v.kind, 'refuse');
    assert.equal(v.kind === 'refuse' && v.code, ErrorCode.LIMIT);
    assert.equal(a.onHello('10.0.0.2', BIND, undefined, 2).kind, 'admit');
    assert.equal(a.counters.sourceLimitUnconfirmed, 1);
    assert.ok(reports.some((r) => r.kind === 'source-limit' && r.limit === 'unconfirmed'));
  });

  test('per-source and global detached bounds expire the longest-detached', () => {
    const { a, clock } = admission({ maxDetachedPerSource: 2, maxDetached: 3 }, 100);
    for (const id of ['x1', 'x2', 'x3', 'y1', 'y2']) {
      a.sessionAdded(id, id.startsWith('x') ? 'X' : 'Y', () => true);
    }
    const detach = (id: string) => {
      clock.advance(10);
      const out = a.sessionDetached(id).map((v) => v.id);
      for (const v of out) a.sessionRemoved(v);
      return out;
    };
    assert.deepEqual(detach('x1'), []);
    assert.deepEqual(detach('x2'), []);
    assert.deepEqual(detach('x3'), ['x1'], "X's third: its longest-detached goes");
    assert.deepEqual(detach('y1'), []);
    assert.deepEqual(detach('y2'), ['x2'], 'four detached in all: the longest-detached goes');
    assert.equal(a.counters.sourceLimitDetached, 1);
    assert.equal(a.counters.evictedDetached, 2);
  });

  test("cookie 'always': no session without a valid echo; the echo from elsewhere is refused", () => {
    const { a } = admission({ cookie: 'always' });
    const v = a.onHello('10.0.0.1', BIND, undefined, 0);
    assert.equal(v.kind, 'cookie');
    const cookie = v.kind === 'cookie' ? v.cookie : Buffer.alloc(32);
    assert.deepEqual(a.onHello('10.0.0.1', BIND, cookie, 0), { kind: 'admit' });
    const wrong = a.onHello('10.0.0.9', BIND, cookie, 0);
    assert.equal(wrong.kind === 'refuse' && wrong.code, ErrorCode.BAD_PROOF);
    assert.equal(a.counters.cookiesSent, 1);
    assert.equal(a.counters.cookiesAccepted, 1);
    assert.equal(a.counters.cookiesRejected, 1);
  });

  test("cookie 'auto': cookies under pressure only; pressure comes with a HELLO burst and goes when calm", () => {
    const { a, clock, reports } = admission(
      { pressureHellosPerSecond: 10, pressureCalmMs: 3000 },
      1000,
    );
    for (let i = 0; i < 9; i++)
      assert.equal(a.onHello(`10.0.1.${i}`, BIND, undefined, 0).kind, 'admit');
    assert.equal(a.onHello('10.0.2.1', BIND, undefined, 0).kind, 'cookie', 'the tenth in a second');
    assert.equal(a.counters.pressure, true);
    assert.deepEqual(
      reports.filter((r) => r.kind === 'pressure').map((r) => r.kind === 'pressure' && r.on),
      [true],
    );
    clock.advance(2500);
    assert.equal(a.onHello('10.0.2.2', BIND, undefined, 0).kind, 'cookie', 'not calm long enough');
    clock.advance(3500);
    assert.equal(a.onHello('10.0.2.3', BIND, undefined, 0).kind, 'admit', 'calm again');
    assert.equal(a.counters.pressure, false);
  });

  test('a table half full turns pressure on', () => {
    const p = new Pressure({
      pressureTableShare: 0.5,
      pressureHellosPerSecond: 1e6,
      pressureCalmMs: 1000,
    });
    assert.equal(p.update(0, 0.49), undefined);
    assert.deepEqual(p.update(1, 0.5)?.state, 'pressed');
  });

  test('per-source handshake limit, and the global one', () => {
    const { a } = admission({ maxHandshakesPerSource: 2, maxHandshakes: 3 });
    assert.equal(a.onConnection('A'), true);
    assert.equal(a.onConnection('A'), true);
    assert.equal(a.onConnection('A'), false);
    a.handshakeDone('A');
    assert.equal(a.onConnection('A'), true);
    assert.equal(a.handshakesOverflow(2, 'B'), false);
    assert.equal(a.handshakesOverflow(3, 'B'), true);
    assert.equal(a.counters.sourceLimitHandshakes, 1);
    assert.equal(a.counters.handshakesDropped, 1);
  });

  test('disabled: the table of before (refuse when full, nothing evicted)', () => {
    const { a } = admission({ enabled: false }, 1);
    a.sessionAdded('one', 'A', () => false);
    assert.equal(a.onHello('B', BIND, undefined, 1).kind, 'refuse');
    assert.deepEqual(a.overdue(1), []);
    assert.equal(a.onConnection('A'), true);
  });
});

describe('admission options', () => {
  test('defaults', () => {
    const o = resolveAdmissionOptions(undefined, 10_000);
    assert.equal(o.enabled, true);
    assert.equal(o.cookie, 'auto');
    assert.equal(o.maxDetached, 5000);
    assert.equal(o.unconfirmedTimeoutMs, 5000);
  });

  test('a bad maxSessions is ROAM_BAD_INPUT too', () => {
    for (const bad of [0, -1, 1.5, Number.NaN])
      assert.throws(() => resolveAdmissionOptions({}, bad), { code: 'ROAM_BAD_INPUT' });
  });

  for (const [given, key] of [
    [{ cookie: 'sometimes' }, 'admission.cookie'],
    [{ unconfirmedTimeoutMs: 10 }, 'admission.unconfirmedTimeoutMs'],
    [{ maxHandshakesPerSource: 1.5 }, 'admission.maxHandshakesPerSource'],
    [{ pressureTableShare: 2 }, 'admission.pressureTableShare'],
    [{ maxDetached: -1 }, 'admission.maxDetached'],
    [{ ipv6PrefixLength: 129 }, 'admission.ipv6PrefixLength'],
    [{ enabled: 'yes' }, 'admission.enabled'],
    [{ maxSession: 5 }, 'maxSession'],
  ] as const) {
    test(`bad value ${JSON.stringify(given)}: ROAM_BAD_INPUT naming ${key}`, () => {
      assert.throws(
        () => resolveAdmissionOptions(given, 100),
        (err: Error & { code?: string }) =>
          err.code === 'ROAM_BAD_INPUT' && err.message.includes(key),
      );
    });
  }
});

test('sources: IPv4, IPv4-mapped, IPv6 by /64, prefixes', () => {
  assert.equal(sourceKey('10.1.2.3'), '10.1.2.3');
  assert.equal(sourceKey('::ffff:10.1.2.3'), '10.1.2.3');
  assert.equal(sourceKey('10.1.2.3', 24), '10.1.2.0/24');
  assert.equal(sourceKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2:0:0:0:0/64');
  assert.equal(sourceKey('2001:db8:1:2:bbbb::7'), sourceKey('2001:db8:1:2:cccc::9'));
  assert.notEqual(sourceKey('2001:db8:1:2::1'), sourceKey('2001:db8:1:3::1'));
  assert.equal(sourceKey(undefined), '?');
});

test('COOKIE frame: hex, round trip, wrong length refused', () => {
  const cookie = Buffer.alloc(32, 0xab);
  const bytes = Buffer.concat(encodeFrame({ type: 'cookie', cookie }));
  assert.equal(bytes.toString('hex'), `0b0000000020${'ab'.repeat(32)}`);
  const out: Frame[] = [];
  new FrameDecoder().decode(bytes, (f) => (out.push(f), true));
  assert.deepEqual(out, [{ type: 'cookie', cookie }]);
  const short = Buffer.from(`0b000000001f${'ab'.repeat(31)}`, 'hex');
  assert.throws(() => new FrameDecoder().decode(short, () => true), {
    code: 'ROAM_WIRE_MALFORMED',
  });
  assert.throws(() => encodeFrame({ type: 'cookie', cookie: Buffer.alloc(31) }), {
    code: 'ROAM_BAD_INPUT',
  });
});
