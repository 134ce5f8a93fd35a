import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FaultResult } from '../../src/lab/fault/apply.js';
import type { FaultOptions } from '../../src/lab/fault/fault.js';
import { runSchedule } from '../../src/lab/fault/schedule.js';
import type { ScheduledFault } from '../../src/lab/topology/model.js';

/** A clock and timers the test drives by hand. */
function fakeTime() {
  let now = 0;
  const timers: { at: number; fn: () => void; id: number }[] = [];
  let next = 0;
  return {
    now: () => now,
    setTimer: (fn: () => void, ms: number) => {
      const id = next++;
      timers.push({ at: now + ms, fn, id });
      return id;
    },
    clearTimer: (id: unknown) => {
      const i = timers.findIndex((t) => t.id === id);
      if (i >= 0) timers.splice(i, 1);
    },
    pending: () => timers.length,
    async advance(ms: number) {
      now += ms;
      for (const t of timers.filter((x) => x.at <= now)) {
        timers.splice(timers.indexOf(t), 1);
        t.fn();
      }
      // Let the schedule's awaits run.
      for (let i = 0; i < 5; i++) await Promise.resolve();
    },
  };
}

function recorder() {
  const applied: { at: number; link: string; kind: string; value: unknown; side: unknown }[] = [];
  return {
    applied,
    target: (clock: () => number) => ({
      fault: async (
        link: string,
        kind: string,
        value?: string | number,
        options?: FaultOptions,
      ) => {
        applied.push({ at: clock(), link, kind, value, side: options?.side });
        return { link, fault: { kind: 'up' } } as FaultResult;
      },
    }),
  };
}

const events: ScheduledFault[] = [
  { atMs: 5000, link: 'wifi', kind: 'up', side: 'a', value: undefined },
  { atMs: 1000, link: 'wifi', kind: 'stall', side: 'a', value: undefined },
  { atMs: 3000, link: 'cell', kind: 'delay', side: 'b', value: '80ms' },
];

test('a schedule applies its faults in time order at their offsets', async () => {
  const time = fakeTime();
  const rec = recorder();
  const run = runSchedule(rec.target(time.now), events, time);
  await time.advance(999);
  assert.equal(rec.applied.length, 0);
  await time.advance(1);
  await time.advance(2000);
  await time.advance(2000);
  const results = await run.done;
  assert.equal(results.length, 3);
  assert.deepEqual(
    rec.applied.map((a) => [a.at, a.link, a.kind, a.value, a.side]),
    [
      [1000, 'wifi', 'stall', undefined, 'a'],
      [3000, 'cell', 'delay', '80ms', 'b'],
      [5000, 'wifi', 'up', undefined, 'a'],
    ],
  );
  assert.equal(time.pending(), 0);
});

test('cancel stops before the next fault and clears its timer', async () => {
  const time = fakeTime();
  const rec = recorder();
  const run = runSchedule(rec.target(time.now), events, time);
  await time.advance(1000);
  run.cancel();
  const results = await run.done;
  assert.equal(results.length, 1);
  assert.equal(time.pending(), 0, 'a timer outlived the cancelled schedule');
});
