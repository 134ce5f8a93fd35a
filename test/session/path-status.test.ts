import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { FrameDecoder, type PathStatusFrame } from '../../src/wire/index.js';
import {
  captureWarnings,
  duringTransfer,
  frameBytes,
  helloBytes,
  rawConnect,
  startHonest,
} from './hostile-support.js';

/**
 * PATH_STATUS from a hostile client: statuses for path ids the session does not have are
 * ignored, and a flood costs the server a map update per frame (roles are applied once per
 * read), while an honest session through the same server moves data and never notices.
 */
test('PATH_STATUS for unknown paths is ignored; a flood is absorbed and the session lives', async (t) => {
  captureWarnings(t);
  const h = await startHonest(t);
  const { attack: result } = await duringTransfer(h, async () => {
    const socket = await rawConnect(h.tracker, h.port);
    socket.on('error', () => undefined);
    socket.write(helloBytes());
    while (h.others.length === 0) await once(h.server, 'session');
    const victim = h.others[0];
    assert.ok(victim);
    const downs: string[] = [];
    victim.on('path-down', (_info, reason: string) => downs.push(reason));
    let roleEvents = 0;
    victim.on('path-role', () => roleEvents++);
    const frames: PathStatusFrame[] = [];
    const statuses = ['removed', 'backup', 'active'] as const;
    // 60,000 frames (840 KB): unknown ids with every status, and for the live path 0 a
    // role that flips on every frame, with seq running through several wraps.
    for (let i = 0; i < 60_000; i++) {
      if (i % 3 === 0) {
        frames.push({
          type: 'path-status',
          pathId: 0,
          status: i % 2 === 0 ? 'backup' : 'active',
          seq: (i / 3 + 1) % 256,
          cost: i,
        });
      } else {
        frames.push({
          type: 'path-status',
          pathId: 1 + (i % 65535),
          status: statuses[i % 3] ?? 'removed',
          seq: i % 256,
          cost: 0,
        });
      }
    }
    const flood = Buffer.concat(frames.map((f) => frameBytes(f)));
    const decoder = new FrameDecoder();
    const pong = new Promise<boolean>((resolve) => {
      socket.once('close', () => resolve(false));
      socket.on('data', (chunk: Buffer) => {
        for (const f of decoder.emitFrames(chunk))
          if (f.type === 'pong' && f.id === 77) resolve(true);
      });
    });
    socket.write(flood);
    // A PING after the flood: its PONG proves the server has handled every frame before it.
    socket.write(frameBytes({ type: 'ping', id: 77 }));
    const answered = await pong;
    // The roles are applied in a microtask after the read that carried them.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const result = {
      answered,
      downs: [...downs],
      roleEvents,
      open: victim.paths.filter((p) => p.state === 'open').map((p) => p.pathId),
      scheduler: victim.scheduler,
      last: frames.filter((f) => f.pathId === 0).at(-1),
    };
    socket.destroy();
    return result;
  });
  assert.ok(result.answered, 'the flooding peer got its PONG');
  assert.deepEqual(result.downs, [], 'no flowpath was closed by statuses for unknown paths');
  assert.deepEqual(result.open, [0]);
  // The last role given to path 0 is the one in force: the scheduler follows it.
  assert.equal(result.scheduler, result.last?.status === 'backup' ? 'backup' : 'aggregate');
  // 20,000 role changes for path 0 arrived; they are applied once per read, not per frame.
  assert.ok(
    result.roleEvents >= 1 && result.roleEvents <= 2_000,
    `${result.roleEvents} role applications`,
  );
  t.diagnostic(`60000 PATH_STATUS frames; ${result.roleEvents} role changes applied`);
  assert.deepEqual(h.pathDowns, []);
});

test('PATH_STATUS removed for the path it arrives on closes that path at once', async (t) => {
  captureWarnings(t);
  const h = await startHonest(t);
  const socket = await rawConnect(h.tracker, h.port);
  socket.on('error', () => undefined);
  socket.write(helloBytes());
  while (h.others.length === 0) await once(h.server, 'session');
  const victim = h.others[0];
  assert.ok(victim);
  const down = once(victim, 'path-down');
  socket.write(frameBytes({ type: 'path-status', pathId: 0, status: 'removed', seq: 0, cost: 0 }));
  const [, reason] = (await down) as [unknown, string];
  assert.equal(reason, 'the client removed the flowpath (PATH_STATUS)');
  assert.equal(victim.state, 'detached');
  assert.deepEqual(h.pathDowns, []);
});
