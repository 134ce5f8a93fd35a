import assert from 'node:assert/strict';
import { test } from 'node:test';
import { contentSha256 } from '../../src/demo/content.js';
import { readAll, writeContent } from '../session/session-support.js';
import { multipathRig, type PathSpec } from './multipath-support.js';

const Mbit = 1e6;

/** Paths of very different rate and RTT: index i of these, cycled. */
const VARIETY: PathSpec[] = [
  { rateBitsPerSec: 80 * Mbit, delayMs: 5 },
  { rateBitsPerSec: 20 * Mbit, delayMs: 40 },
  { rateBitsPerSec: 40 * Mbit, delayMs: 15 },
  { rateBitsPerSec: 8 * Mbit, delayMs: 60 },
  { rateBitsPerSec: 120 * Mbit, delayMs: 2 },
];

function specs(n: number): PathSpec[] {
  return Array.from({ length: n }, (_, i) => VARIETY[i % VARIETY.length] as PathSpec);
}

for (const n of [2, 3, 5, 10]) {
  test(`${n} flowpaths of different rate and RTT: both directions byte-exact, every path carries data`, async (t) => {
    const size = 24 * 1024 * 1024;
    const rig = await multipathRig(t, specs(n));
    await rig.paths(n);
    // Read the server's per-path counts as the last byte arrives: the session frees its
    // flowpaths soon after both directions complete.
    let carried: number[] = [];
    const down = readAll(rig.client, (bytes) => {
      if (bytes === size) carried = rig.peer.paths.map((p) => p.sentBytes ?? 0);
    });
    const up = readAll(rig.peer);
    await Promise.all([
      writeContent(rig.peer, `down${n}`, size),
      writeContent(rig.client, `up${n}`, size),
    ]);
    assert.deepEqual(await down, { length: size, sha256: contentSha256(`down${n}`, size) });
    assert.deepEqual(await up, { length: size, sha256: contentSha256(`up${n}`, size) });
    t.diagnostic(
      `server sent per path (KiB): ${carried.map((b) => (b / 1024).toFixed(0)).join(' ')}`,
    );
    assert.equal(carried.length, n);
    for (const [i, bytes] of carried.entries())
      assert.ok(bytes > 0, `path ${i} carried nothing of the download`);
  });
}

test('paths added, stalled, cut and removed during a transfer both ways: byte-exact', async (t) => {
  const size = 32 * 1024 * 1024;
  const rig = await multipathRig(t, specs(3));
  await rig.paths(3);
  const extra = await rig.extraLink({ rateBitsPerSec: 60 * Mbit, delayMs: 8 });
  const events: string[] = [];
  let addedId: number | undefined;
  const steps: [number, () => void][] = [
    [
      0.15,
      () => {
        void rig.client.addPath({ remote: extra.address }).then((info) => {
          addedId = info.pathId;
          events.push(`added ${info.pathId}`);
        });
      },
    ],
    [0.3, () => (rig.links[1]?.stall(), events.push('stalled link 1'))],
    [0.45, () => events.push(`cut ${rig.links[2]?.cut() ?? 0} on link 2`)],
    [
      0.6,
      () => {
        const victim = rig.client.paths.find((p) => p.pathId === 0);
        if (victim && rig.client.paths.filter((p) => p.state === 'open').length > 1) {
          rig.client.removePath(victim.pathId);
          events.push('removed path 0');
        }
      },
    ],
    [0.75, () => (rig.links[1]?.resume(), events.push('resumed link 1'))],
  ];
  let next = 0;
  const down = readAll(rig.client, (bytes) => {
    const step = steps[next];
    if (step && bytes >= size * step[0]) {
      next++;
      step[1]();
    }
  });
  const up = readAll(rig.peer);
  await Promise.all([
    writeContent(rig.peer, 'churn-down', size),
    writeContent(rig.client, 'churn-up', size),
  ]);
  assert.deepEqual(await down, { length: size, sha256: contentSha256('churn-down', size) });
  assert.deepEqual(await up, { length: size, sha256: contentSha256('churn-up', size) });
  t.diagnostic(events.join(', '));
  assert.equal(next, steps.length, 'every step ran');
  assert.ok(addedId !== undefined, 'the added path came up');
  assert.ok(events.includes('removed path 0'));
});

test('redundant: every flowpath carries the whole stream, the receiver gets it once', async (t) => {
  const size = 4 * 1024 * 1024;
  const rig = await multipathRig(t, specs(2), { scheduler: 'redundant' });
  await rig.paths(2);
  let carried: number[] = [];
  const down = readAll(rig.client, (bytes) => {
    if (bytes === size) carried = rig.peer.paths.map((p) => p.sentBytes ?? 0);
  });
  await writeContent(rig.peer, 'redundant', size);
  assert.deepEqual(await down, { length: size, sha256: contentSha256('redundant', size) });
  // The slower copy may still be on its way when the faster one completes the stream.
  t.diagnostic(`sent per path (KiB): ${carried.map((b) => (b / 1024).toFixed(0)).join(' ')}`);
  assert.ok(carried.length === 2 && carried.every((b) => b > size / 4), String(carried));
});
