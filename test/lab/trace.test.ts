import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { isRoamError } from '../../src/errors.js';
import {
  type BandwidthTrace,
  formatTrace,
  generateTrace,
  parseTrace,
  TRACE_KINDS,
  traceMeanRateBps,
  validateTrace,
} from '../../src/lab/trace/index.js';
import { packageRoot } from '../../src/package-root.js';

function rejects(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err) => isRoamError(err, 'ROAM_BAD_INPUT') && pattern.test(err.message));
}

test('parseTrace reads Mahimahi timestamps; the last one is the period', () => {
  const t = parseTrace('0\n1\n1\n5\n', 'x.trace');
  assert.deepEqual(t, { opportunitiesMs: [0, 1, 1, 5], periodMs: 5 });
  assert.deepEqual(parseTrace('3\r\n\r\n7', 'crlf.trace'), {
    opportunitiesMs: [3, 7],
    periodMs: 7,
  });
});

test('parseTrace errors name the source and the line', () => {
  rejects(() => parseTrace('1\n2\nabc\n', 'a.trace'), /^a\.trace line 3: .*'abc'/);
  rejects(() => parseTrace('1\n-4\n', 'b.trace'), /^b\.trace line 2: /);
  rejects(() => parseTrace('1\n2.5\n', 'c.trace'), /^c\.trace line 2: /);
  rejects(() => parseTrace('5\n\n3\n', 'd.trace'), /^d\.trace line 3: timestamp 3 is before .*5/);
  rejects(() => parseTrace('0\n0\n', 'e.trace'), /^e\.trace line 2: .*must be > 0/);
  rejects(() => parseTrace('\n \n', 'f.trace'), /^f\.trace: no timestamps/);
});

test('validateTrace insists on sorted integers ending at the period', () => {
  rejects(() => validateTrace({ opportunitiesMs: [2, 1, 3], periodMs: 3 }), /opportunitiesMs\[1\]/);
  rejects(() => validateTrace({ opportunitiesMs: [1, 2], periodMs: 3 }), /must equal periodMs/);
  rejects(() => validateTrace({ opportunitiesMs: [0], periodMs: 0 }), /positive integer/);
  rejects(() => validateTrace({ opportunitiesMs: [], periodMs: 4 }), /at least one/);
});

test('generated traces are deterministic and have the promised mean rates', () => {
  for (const kind of TRACE_KINDS) {
    const a = generateTrace(kind, { durationMs: 60_000, seed: 7 });
    const b = generateTrace(kind, { durationMs: 60_000, seed: 7 });
    assert.deepEqual(a, b, `${kind} is deterministic`);
    assert.notDeepEqual(a, generateTrace(kind, { durationMs: 60_000, seed: 8 }), `${kind} seed`);
    validateTrace(a);
  }
  const mbps = (kind: (typeof TRACE_KINDS)[number], seed: number) =>
    traceMeanRateBps(generateTrace(kind, { durationMs: 60_000, seed })) / 1e6;
  const steady = mbps('lte-steady', 1);
  assert.ok(steady > 19 && steady < 21, `lte-steady ${steady} Mbit/s`);
  const outages = mbps('outages', 1);
  assert.ok(outages > 9 && outages < 14.5, `outages ${outages} Mbit/s (15 minus outages)`);
  const fluct = mbps('fluctuating', 1);
  assert.ok(fluct > 2 && fluct < 30, `fluctuating ${fluct} Mbit/s`);
});

test('fluctuating stays within ~2..30 Mbit/s; outages have 1-5 s silences', () => {
  const perSecond = (t: BandwidthTrace) => {
    const counts = new Array<number>(Math.ceil(t.periodMs / 1000)).fill(0);
    for (const ms of t.opportunitiesMs.slice(0, -1)) {
      const i = Math.floor(ms / 1000);
      counts[i] = (counts[i] ?? 0) + 1;
    }
    return counts.map((n) => (n * 1504 * 8) / 1e6);
  };
  const fl = perSecond(generateTrace('fluctuating', { durationMs: 60_000, seed: 3 }));
  assert.ok(Math.min(...fl) >= 1.9 && Math.max(...fl) <= 30.1, `fluctuating ${fl}`);
  assert.ok(Math.max(...fl) / Math.min(...fl) > 2, 'fluctuating actually fluctuates');
  const out = generateTrace('outages', { durationMs: 60_000, seed: 3 }).opportunitiesMs;
  const gaps = out
    .slice(1)
    .map((ms, i) => ms - (out[i] ?? 0))
    .filter((g) => g > 500);
  assert.ok(gaps.length >= 2, `at least two outages in 60 s, got ${gaps}`);
  for (const g of gaps) assert.ok(g >= 1000 && g <= 5001, `outage ${g} ms`);
});

test('formatTrace round-trips through parseTrace', () => {
  const t = generateTrace('outages', { durationMs: 5000, seed: 11 });
  assert.deepEqual(parseTrace(formatTrace(t), 'gen'), t);
  fc.assert(
    fc.property(
      fc.array(fc.nat({ max: 100_000 }), { minLength: 1, maxLength: 200 }),
      fc.integer({ min: 1, max: 100_000 }),
      (raw, last) => {
        const sorted = [...raw].sort((x, y) => x - y).filter((ms) => ms <= last);
        const trace = { opportunitiesMs: [...sorted, last], periodMs: last };
        assert.deepEqual(parseTrace(formatTrace(trace), 'prop'), trace);
      },
    ),
  );
});

test('shipped traces parse and match their kinds', () => {
  const root = packageRoot();
  for (const kind of TRACE_KINDS) {
    const path = join(root, 'traces', `${kind}.trace`);
    const t = parseTrace(readFileSync(path, 'utf8'), path);
    assert.equal(t.periodMs, 60_000, `${kind} is 60 s`);
  }
});
