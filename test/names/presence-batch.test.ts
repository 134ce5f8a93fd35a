import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BatchPlanner, shardOf } from '../../src/names/presence-batch.js';

test('presence shards: stable, in range, spread', () => {
  assert.equal(shardOf('laptop.bob@example.com', 256), shardOf('laptop.bob@example.com', 256));
  const counts = new Array<number>(16).fill(0);
  for (let i = 0; i < 16_000; i++) {
    const s = shardOf(`d${i}.bob@example.com`, 16);
    assert.ok(s >= 0 && s < 16);
    counts[s] = (counts[s] ?? 0) + 1;
  }
  for (const c of counts) assert.ok(c > 800 && c < 1200, `shard sizes ${counts.join(' ')}`);
});

test('presence batches: a shard goes out when its set changes, when due for refresh, and once empty', () => {
  const shards = 4;
  const planner = new BatchPlanner({ shards, refreshMs: 1000 });
  const names = ['a@x.com', 'b@x.com', 'c@x.com', 'd@x.com', 'e@x.com'];
  const publish = (online: string[], now: number) => {
    const due = planner.plan(online, now);
    for (const b of due) planner.done(b, now);
    return due;
  };
  const first = publish(names, 0);
  assert.deepEqual(
    first.flatMap((b) => b.names).sort(),
    names,
    'every online name is in one batch, of its shard',
  );
  for (const b of first) for (const n of b.names) assert.equal(shardOf(n, shards), b.shard);
  assert.deepEqual(publish(names, 10), [], 'nothing changed: nothing to write');
  const gone = 'c@x.com';
  const changed = publish(
    names.filter((n) => n !== gone),
    20,
  );
  assert.deepEqual(
    changed.map((b) => b.shard),
    [shardOf(gone, shards)],
    'only the shard that changed',
  );
  // Every shard that still has devices is written again once refreshMs passed.
  const refreshed = publish(
    names.filter((n) => n !== gone),
    1020,
  );
  assert.equal(
    refreshed.length,
    new Set(names.filter((n) => n !== gone).map((n) => shardOf(n, shards))).size,
  );
  // All offline: each shard that had devices is written empty once, then nothing.
  const emptied = publish([], 1030);
  assert.ok(emptied.length > 0 && emptied.every((b) => b.names.length === 0));
  assert.deepEqual(publish([], 5000), []);
});
