import assert from 'node:assert/strict';
import { test } from 'node:test';
import { contentSha256 } from '../../src/demo/content.js';
import { readAll, writeContent } from '../session/session-support.js';
import { multipathRig } from './multipath-support.js';

const Mbit = 1e6;

test('best-path follows the lower latency as it flips, never switching faster than the dwell time', async (t) => {
  const minDwellMs = 1500;
  const bestPath = { minDwellMs };
  const rig = await multipathRig(
    t,
    [
      { rateBitsPerSec: 30 * Mbit, delayMs: 5 },
      { rateBitsPerSec: 30 * Mbit, delayMs: 40 },
    ],
    {
      scheduler: 'best-path',
      server: { multipath: { bestPath } },
      client: { multipath: { bestPath } },
    },
  );
  await rig.paths(2);
  const [a, b] = rig.links;
  assert.ok(a && b);
  const switches: { at: number; to: number }[] = [];
  // Timed by the sender's own clock: the event itself may be emitted a little later.
  rig.peer.on('path-switch', ({ to, at }: { to: number; at: number }) => switches.push({ at, to }));
  // Flip the latencies every second: faster than the dwell time allows to follow.
  let flipped = false;
  const flipper = setInterval(() => {
    flipped = !flipped;
    a.setDelay(flipped ? 40 : 5);
    b.setDelay(flipped ? 5 : 40);
  }, 1000);
  t.after(() => clearInterval(flipper));
  const size = 24 * 1024 * 1024;
  const got = readAll(rig.client);
  await writeContent(rig.peer, 'best-path', size);
  assert.deepEqual(await got, { length: size, sha256: contentSha256('best-path', size) });
  clearInterval(flipper);
  t.diagnostic(`switches: ${switches.length}`);
  assert.ok(switches.length >= 2, 'the first choice, and at least one move to the better path');
  for (let i = 1; i < switches.length; i++) {
    const gap = (switches[i]?.at ?? 0) - (switches[i - 1]?.at ?? 0);
    assert.ok(gap >= minDwellMs, `two switches ${gap.toFixed(0)} ms apart`);
  }
});
