import assert from 'node:assert/strict';
import { test } from 'node:test';
import { contentSha256 } from '../../src/demo/content.js';
import type { SchedulerName } from '../../src/multipath/scheduler.js';
import { readAll, writeContent } from '../session/session-support.js';
import { fast, multipathRig } from './multipath-support.js';

const Mbit = 1e6;

/**
 * One of two flowpaths fails mid-download: silently (stall: the link drops everything) or
 * loudly (down: connections reset). The stream must go on over the other path, byte-exact,
 * and the receiving application's longest wait for data after the fault is reported (the
 * goal is ≤ 0.5 s after a stall and ≤ 0.2 s after link down; measured in benchmarks). The
 * keepalive verdict is set to 5 s here, so a gap under 2 s shows the sender's own stall
 * detection at work, not the flowpath's death.
 */
for (const scheduler of ['aggregate', 'best-path'] as SchedulerName[]) {
  for (const fault of ['stall', 'down'] as const) {
    test(`${scheduler}: the fast path fails (${fault}) mid-transfer; nothing lost, short gap`, async (t) => {
      const size = 8 * 1024 * 1024;
      const rig = await multipathRig(
        t,
        [
          { rateBitsPerSec: 20 * Mbit, delayMs: 10 },
          { rateBitsPerSec: 8 * Mbit, delayMs: 40 },
        ],
        {
          scheduler,
          client: { ...fast, deadAfterMs: 5000 },
          server: { ...fast, deadAfterMs: 5000 },
        },
      );
      await rig.paths(2);
      const failing = rig.links[0];
      assert.ok(failing);
      let faultAt: number | undefined;
      let last = 0;
      let gapAfter = 0;
      // What the sender saw, for a failure's message: its suspicions and its paths 1 s in.
      const seen: string[] = [];
      const ms = () =>
        faultAt === undefined ? 'before' : `+${(performance.now() - faultAt).toFixed(0)}`;
      rig.peer.on('path-suspect', (p: { pathId: number }) =>
        seen.push(`${ms()} suspect ${p.pathId}`),
      );
      rig.peer.on('path-recovered', (p: { pathId: number }) =>
        seen.push(`${ms()} recovered ${p.pathId}`),
      );
      rig.peer.on('path-down', (p: { pathId: number }) => seen.push(`${ms()} down ${p.pathId}`));
      let snapshot: NodeJS.Timeout | undefined;
      t.after(() => clearTimeout(snapshot));
      const got = readAll(rig.client, (bytes) => {
        const now = performance.now();
        if (faultAt !== undefined) gapAfter = Math.max(gapAfter, now - last);
        last = now;
        if (faultAt === undefined && bytes >= size * 0.3) {
          faultAt = now;
          snapshot = setTimeout(
            () => seen.push(`+1000 paths ${JSON.stringify(rig.peer.paths)}`),
            1000,
          );
          if (fault === 'stall') failing.stall();
          else void failing.down();
        }
      });
      void writeContent(rig.peer, `failover-${scheduler}-${fault}`, size);
      assert.deepEqual(await got, {
        length: size,
        sha256: contentSha256(`failover-${scheduler}-${fault}`, size),
      });
      assert.ok(faultAt !== undefined);
      t.diagnostic(`${scheduler}, ${fault}: longest gap after the fault ${gapAfter.toFixed(0)} ms`);
      assert.ok(
        gapAfter < 2000,
        `the receiver waited ${gapAfter.toFixed(0)} ms; the sender: ${seen.join('; ')}`,
      );
    });
  }
}
