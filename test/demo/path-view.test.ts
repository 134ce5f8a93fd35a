import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pathLines, renderPaths, type Snapshot } from '../../src/demo/path-view.js';

const path = (pathId: number, received: number) => ({
  pathId,
  local: `10.${pathId}.0.2`,
  remote: '10.9.0.2:7200',
  state: 'open',
  received,
  rttMs: 20,
});

test("pathLines: each flowpath's rate over the last second of snapshots", () => {
  const history: Snapshot[] = [
    { at: 0, bytes: 0, paths: [path(0, 0)] },
    { at: 500, bytes: 100, paths: [path(0, 100_000)] },
    { at: 1000, bytes: 300, paths: [path(0, 250_000), path(1, 50_000)] },
    { at: 1500, bytes: 500, paths: [path(1, 150_000)] },
  ];
  const lines = pathLines(history);
  assert.deepEqual(
    lines.map((l) => [l.pathId, l.rateBps]),
    [[1, 150_000]],
    'a path that appeared inside the window counts from zero; a vanished one is gone',
  );
  assert.deepEqual(pathLines([]), []);
  const screen = renderPaths(history, 1 << 20, ['+1.0 s  something'], 'header');
  assert.match(screen, /path 1 +10\.1\.0\.2 → 10\.9\.0\.2:7200 +1\.2 Mbit\/s {2}RTT 20 ms/);
  assert.match(screen, /\+1\.0 s {2}something/);
  assert.match(renderPaths([{ at: 0, bytes: 0, paths: [] }], 1, [], 'h'), /no flowpath/);
});
