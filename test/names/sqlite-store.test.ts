import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
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

test('sqlite (default synchronous=NORMAL): every write acknowledged before the server is killed is there after', async (t) => {
  const file = join(tempDir(t), 'names.db');
  const module = new URL('../../src/names/store/sqlite-store.js', import.meta.url).href;
  // A writer that acknowledges each committed write on stdout, until it is killed.
  const script = `
    const { SqliteStore } = await import(${JSON.stringify(module)});
    const store = SqliteStore.open(${JSON.stringify(file)});
    for (let i = 0; ; i++) {
      const name = 'd' + i + '.bob@example.com';
      const r = await store.putIfNewer({ name, owner: 'bob@example.com', version: 1, value: '{"i":' + i + '}' });
      if (!r.ok) throw new Error('write refused');
      await new Promise((resolve) => process.stdout.write(name + ' ' + r.revision + '\\n', resolve));
    }`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.once('exit', (_code, signal) => resolve(signal)),
  );
  t.after(() => child.kill('SIGKILL'));
  const acked = new Map<string, number>();
  let partial = '';
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) =>
      reject(new Error(`the writer exited (${code}) before it was killed`)),
    );
    child.stdout.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const [name, revision] = line.split(' ');
        if (name && revision) acked.set(name, Number(revision));
      }
      if (acked.size >= 200) {
        child.kill('SIGKILL');
        resolve();
      }
    });
  });
  assert.equal(await exited, 'SIGKILL');

  const store = SqliteStore.open(file);
  t.after(() => store.close());
  const last = Math.max(...acked.values());
  assert.ok((await store.revision()) >= last, 'the revision counter is not behind an ack');
  for (const [name, revision] of acked) {
    const entry = await store.get(name);
    assert.equal(entry?.revision, revision, `${name} was acknowledged at revision ${revision}`);
  }
});
