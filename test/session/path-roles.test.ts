import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AnnouncedRoles, type PathRole, PeerRoles, roleOf } from '../../src/session/path-status.js';

test('roleOf: backup only under the backup scheduler; costs rounded into u32', () => {
  assert.deepEqual(roleOf('backup', { preferred: false, cost: 2.6 }), {
    status: 'backup',
    cost: 3,
  });
  assert.deepEqual(roleOf('aggregate', { preferred: false, cost: 1 }), {
    status: 'active',
    cost: 1,
  });
  assert.deepEqual(roleOf('backup', { preferred: true, cost: -5 }), { status: 'active', cost: 0 });
  assert.equal(roleOf('backup', { preferred: false, cost: Infinity }).cost, 0xffff_ffff);
});

test('AnnouncedRoles: nothing while roles stay the default; a change sends all, backups first', () => {
  const a = new AnnouncedRoles();
  const active: PathRole = { status: 'active', cost: 0 };
  const backup: PathRole = { status: 'backup', cost: 5 };
  assert.deepEqual(
    a.announce(
      new Map([
        [1, active],
        [2, active],
      ]),
    ),
    [],
  );
  const first = a.announce(
    new Map([
      [1, active],
      [2, backup],
    ]),
  );
  assert.deepEqual(
    first.map((f) => [f.pathId, f.status, f.seq]),
    [
      [2, 'backup', 1],
      [1, 'active', 1],
    ],
  );
  assert.deepEqual(
    a.announce(
      new Map([
        [1, active],
        [2, backup],
      ]),
    ),
    [],
    'unchanged',
  );
  const swap = a.announce(
    new Map([
      [1, backup],
      [2, active],
    ]),
  );
  assert.deepEqual(
    swap.map((f) => [f.pathId, f.status, f.seq]),
    [
      [1, 'backup', 2],
      [2, 'active', 2],
    ],
  );
  assert.deepEqual(a.removed(2), {
    type: 'path-status',
    pathId: 2,
    status: 'removed',
    seq: 2,
    cost: 0,
  });
});

test('PeerRoles: stale copies (older seq) are ignored, across the wrap at 256', () => {
  const r = new PeerRoles();
  const backup: PathRole = { status: 'backup', cost: 1 };
  const active: PathRole = { status: 'active', cost: 0 };
  assert.equal(r.set(1, backup, 254), true);
  assert.equal(r.anyBackup, true);
  assert.equal(r.set(1, backup, 254), false, 'a duplicate');
  assert.equal(r.set(1, active, 2), true, '4 ahead, across the wrap');
  assert.equal(r.anyBackup, false);
  assert.equal(r.set(1, backup, 254), false, 'the late copy of the older announcement');
  assert.deepEqual(r.get(1), active);
  assert.equal(r.set(1, active, 3), false, 'newer but the same role: no change');
  assert.equal(r.set(1, backup, 200), false, '131 behind');
  r.forget(1);
  assert.equal(r.get(1), undefined);
  assert.equal(r.set(1, backup, 200), true, 'a new flowpath with the id starts afresh');
});
