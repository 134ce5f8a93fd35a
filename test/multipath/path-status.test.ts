import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { contentSha256 } from '../../src/demo/content.js';
import type { FlowpathInfo } from '../../src/session/flowpath.js';
import type { Session } from '../../src/session/session.js';
import { readAll, writeContent } from '../session/session-support.js';
import { fast, multipathRig, type Rig } from './multipath-support.js';

const Mbit = 1e6;
/** Liveness verdicts far beyond the transfer: only PATH_STATUS can end a path early. */
const slowVerdict = { ...fast, deadAfterMs: 20_000 };

/** The client's flowpath that goes through rig link `i`. */
function pathThrough(rig: Rig, i: number): FlowpathInfo {
  const port = rig.links[i]?.address.port;
  const info = rig.client.paths.find((p) => p.state === 'open' && p.remotePort === port);
  assert.ok(info, `no open flowpath through link ${i}`);
  return info;
}

/** The server's bytes sent per path id, now. */
function sentByPath(peer: Session): Map<number, number> {
  return new Map(peer.paths.map((p) => [p.pathId, p.sentBytes ?? 0]));
}

test('download: the client removes a path whose address vanished; the server re-sends at once', async (t) => {
  const size = 8 * 1024 * 1024;
  const seed = 'path-status-remove';
  const rig = await multipathRig(
    t,
    [
      { rateBitsPerSec: 20 * Mbit, delayMs: 10 },
      { rateBitsPerSec: 8 * Mbit, delayMs: 20 },
    ],
    { client: slowVerdict, server: slowVerdict },
  );
  await rig.paths(2);
  const vanishing = rig.links[0];
  assert.ok(vanishing);
  const removedId = pathThrough(rig, 0).pathId;
  const events: string[] = [];
  rig.peer.on('path-suspect', (p: FlowpathInfo) => events.push(`suspect ${p.pathId}`));
  const serverDown = new Promise<{ info: FlowpathInfo; reason: string; at: number }>((resolve) =>
    rig.peer.on('path-down', (info: FlowpathInfo, reason: string) => {
      events.push(`down ${info.pathId}`);
      if (info.pathId === removedId) resolve({ info, reason, at: performance.now() });
    }),
  );
  let removedAt: number | undefined;
  let last = 0;
  let gapAfter = 0;
  const got = readAll(rig.client, (bytes) => {
    const now = performance.now();
    if (removedAt !== undefined) gapAfter = Math.max(gapAfter, now - last);
    last = now;
    if (removedAt === undefined && bytes >= size * 0.3) {
      removedAt = now;
      // The address vanished: nothing more crosses this link, not even the client's FIN.
      vanishing.stall();
      rig.client.removePath(removedId);
    }
  });
  void writeContent(rig.peer, seed, size);
  const down = await serverDown;
  assert.equal(down.reason, 'the client removed the flowpath (PATH_STATUS)');
  assert.ok((down.info.inflightBytes ?? 0) > 0, 'the removed path had data in flight');
  assert.deepEqual(
    rig.peer.paths.filter((p) => p.state === 'open').map((p) => p.pathId),
    [pathThrough(rig, 1).pathId],
    'the server holds only the surviving flowpath',
  );
  assert.deepEqual(await got, { length: size, sha256: contentSha256(seed, size) });
  assert.ok(removedAt !== undefined);
  t.diagnostic(
    `server closed the removed path ${(down.at - removedAt).toFixed(0)} ms after removePath; ` +
      `longest gap at the receiver after it ${gapAfter.toFixed(0)} ms; ` +
      `${down.info.inflightBytes ?? 0} bytes were in flight on it; server events: ${events.join(', ')}`,
  );
});

test('download: a policy swap on the client steers the server’s sending', async (t) => {
  const size = 12 * 1024 * 1024;
  const seed = 'path-status-swap';
  const rig = await multipathRig(
    t,
    [
      { rateBitsPerSec: 20 * Mbit, delayMs: 10 },
      { rateBitsPerSec: 20 * Mbit, delayMs: 10 },
    ],
    {
      client: slowVerdict,
      // Backups come in only when the preferred paths cannot carry the demand: with a
      // long demandMs they never do here, so every byte on a backup is a policy failure.
      server: { ...slowVerdict, multipath: { policy: { demandMs: 60_000 } } },
    },
  );
  await rig.paths(2);
  const a = pathThrough(rig, 0);
  const b = pathThrough(rig, 1);
  const keyOf = (p: FlowpathInfo) => `${p.remoteAddress}:${p.remotePort}`;
  const prefer = async (p: FlowpathInfo, other: FlowpathInfo) => {
    const roles = new Map<number, string>();
    const applied = new Promise<void>((resolve) => {
      const onRole = (r: { pathId: number; status: string }) => {
        roles.set(r.pathId, r.status);
        if (roles.get(p.pathId) !== 'backup' && roles.get(other.pathId) === 'backup') {
          rig.peer.off('path-role', onRole);
          resolve();
        }
      };
      rig.peer.on('path-role', onRole);
    });
    // What the mobility manager does when its plan changes.
    rig.client.setPathPolicy({ prefer: [keyOf(p)] });
    rig.client.setScheduler('backup', { backup: { prefer: [keyOf(p)] } });
    await applied;
  };
  // The server's own view before any PATH_STATUS: both paths active.
  assert.equal(rig.peer.scheduler, 'aggregate');
  await prefer(a, b);
  assert.equal(rig.peer.scheduler, 'backup', 'the server follows the client’s roles');
  // Counted once the rates are measured: before that, the backup scheduler's demand test
  // runs on a guess and may bring in the backup for a first chunk (a scheduler matter).
  let start: Map<number, number> | undefined;
  // The swap asked for, and the swap applied at the server (within about one RTT).
  let atSwap: Map<number, number> | undefined;
  let applied: Map<number, number> | undefined;
  let swapped: Promise<void> | undefined;
  const got = readAll(rig.client, (bytes) => {
    if (start === undefined && bytes >= size / 8) start = sentByPath(rig.peer);
    if (swapped === undefined && bytes >= size / 2) {
      atSwap = sentByPath(rig.peer);
      swapped = prefer(b, a).then(() => {
        applied = sentByPath(rig.peer);
      });
    }
  });
  void writeContent(rig.peer, seed, size);
  assert.deepEqual(await got, { length: size, sha256: contentSha256(seed, size) });
  await swapped;
  const end = sentByPath(rig.peer);
  assert.ok(atSwap && start && applied);
  const d = (to: Map<number, number>, from: Map<number, number>, id: number) =>
    (to.get(id) ?? 0) - (from.get(id) ?? 0);
  const before = { a: d(atSwap, start, a.pathId), b: d(atSwap, start, b.pathId) };
  const after = { a: d(end, applied, a.pathId), b: d(end, applied, b.pathId) };
  t.diagnostic(
    `bytes sent by the server before the swap ${JSON.stringify(before)}, after ${JSON.stringify(after)}`,
  );
  assert.ok(before.a > size / 4, `A carried ${before.a} bytes while preferred`);
  assert.equal(before.b, 0, 'nothing on B while it was the backup');
  assert.ok(after.b > size / 4, `B carried ${after.b} bytes once preferred`);
  assert.equal(after.a, 0, 'nothing on A once it became the backup');
});

test('the roles follow the client when it goes back to aggregate', async (t) => {
  const rig = await multipathRig(
    t,
    [
      { rateBitsPerSec: 20 * Mbit, delayMs: 5 },
      { rateBitsPerSec: 20 * Mbit, delayMs: 5 },
    ],
    { client: slowVerdict, server: slowVerdict },
  );
  await rig.paths(2);
  const a = pathThrough(rig, 0);
  const keyA = `${a.remoteAddress}:${a.remotePort}`;
  rig.client.setPathPolicy({ prefer: [keyA] });
  rig.client.setScheduler('backup', { backup: { prefer: [keyA] } });
  const schedulerOf = (s: Session): string => s.scheduler;
  while (schedulerOf(rig.peer) !== 'backup') await once(rig.peer, 'path-role');
  rig.client.setScheduler('aggregate');
  while (schedulerOf(rig.peer) !== 'aggregate') await once(rig.peer, 'path-role');
  assert.equal(schedulerOf(rig.peer), 'aggregate');
});

test('best-path: when the busy path stalls, the server re-sends nothing the client already has', async (t) => {
  // Only the busy path carries acknowledgments while data flows, and its last ones are lost
  // in the stall: the client tells the idle path once data stops arriving (30 ms), so the
  // server's re-send starts at the client's first missing byte, not at an older report.
  const size = 8 * 1024 * 1024;
  const seed = 'path-status-quiet-ack';
  const rig = await multipathRig(
    t,
    [
      { rateBitsPerSec: 20 * Mbit, delayMs: 10 },
      { rateBitsPerSec: 8 * Mbit, delayMs: 20 },
    ],
    { scheduler: 'best-path', client: slowVerdict, server: slowVerdict },
  );
  await rig.paths(2);
  const busy = rig.links[0];
  assert.ok(busy);
  const busyId = pathThrough(rig, 0).pathId;
  const suspected = new Promise<{ sent: number; lost: number; received: number }>((resolve) =>
    rig.peer.on('path-suspect', (p: FlowpathInfo) => {
      if (p.pathId !== busyId) return;
      // In the same turn as the re-send was queued: what the server re-sends, against what
      // the client got on that path (final: nothing crosses the stalled link any more).
      const now = rig.peer.paths.find((x) => x.pathId === busyId);
      const client = rig.client.paths.find((x) => x.pathId === busyId);
      resolve({
        sent: now?.sentBytes ?? 0,
        lost: now?.lostBytes ?? 0,
        received: client?.receivedBytes ?? 0,
      });
    }),
  );
  let stalled = false;
  const got = readAll(rig.client, (bytes) => {
    if (!stalled && bytes >= size * 0.3) {
      stalled = true;
      busy.stall();
    }
  });
  void writeContent(rig.peer, seed, size);
  const s = await suspected;
  assert.ok(s.lost > 0, 'the busy path had bytes in flight');
  // At most what it lacks: less when some of it came by the other path (a copy).
  assert.ok(
    s.lost <= s.sent - s.received,
    `re-sent ${s.lost} bytes; the client lacked ${s.sent - s.received} of the ${s.sent} sent on the path`,
  );
  assert.deepEqual(await got, { length: size, sha256: contentSha256(seed, size) });
});
