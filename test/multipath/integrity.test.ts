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
    t.diagnostic(`server sent per path (KiB): ${carried.map((b) => (b / 1024).toFixed(0)).join(' ')}`);
    assert.equal(carried.length, n);
    for (const [i, bytes] of carried.entries())
      assert.ok(bytes > 0, `path ${i} carried nothing of the download`);
  });
}
