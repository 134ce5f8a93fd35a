import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { isRoamError } from '../../src/errors.js';
import { SqliteStore } from '../../src/names/store/sqlite-store.js';
import { storeContract } from './store-contract.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'roam-names-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

storeContract('sqlite', (t, opts) => {
  const store = SqliteStore.open(join(tempDir(t), 'names.db'), opts);
  t.after(() => store.close());
  return Promise.resolve(store);
});

test('sqlite: entries, revisions, history and the store id survive a reopen', async (t) => {
  const file = join(tempDir(t), 'names.db');
  const first = SqliteStore.open(file);
  await first.putIfNewer({ name: 'a', owner: 'a', version: 1, value: '{"v":1}' });
  await first.putIfNewer({ name: 'a', owner: 'a', version: 2, value: '{"v":2}' });
  await first.putIfNewer({ name: 'd.a', owner: 'a', version: 7, value: '{"v":7}' });
  const id = first.id;
  await first.close();

  const again = SqliteStore.open(file);
  t.after(() => again.close());
  assert.equal(again.id, id);
  assert.equal(await again.revision(), 3);
  assert.deepEqual(await again.get('a'), {
    name: 'a',
    owner: 'a',
    version: 2,
    revision: 2,
    value: '{"v":2}',
  });
  assert.deepEqual(
    (await again.listByOwner('a')).map((e) => e.name),
    ['a', 'd.a'],
  );
  assert.equal(
    (await again.putIfNewer({ name: 'a', owner: 'a', version: 2, value: '{}' })).ok,
    false,
  );
  const seen: number[] = [];
  (await again.watch(1, (e) => seen.push(e.revision))).close();
  assert.deepEqual(seen, [2, 3]);
  assert.deepEqual(await again.putIfNewer({ name: 'a', owner: 'a', version: 3, value: '{}' }), {
    ok: true,
    revision: 4,
  });
});

test('sqlite: a second server on the same file is refused at once', async (t) => {
  const file = join(tempDir(t), 'names.db');
  const first = SqliteStore.open(file);
  t.after(() => first.close());
  assert.throws(
    () => SqliteStore.open(file),
    (e) => isRoamError(e, 'ROAM_NAMES_DB_LOCKED') && e.message.includes(file),
  );
  await first.putIfNewer({ name: 'a', owner: 'a', version: 1, value: '{}' });
});

test('sqlite: an unusable path is a clear error', () => {
  assert.throws(
    () => SqliteStore.open('/proc/no/such/dir/names.db'),
    (e) => isRoamError(e, 'ROAM_NAMES_DB') && /cannot open the name database/.test(e.message),
  );
});
