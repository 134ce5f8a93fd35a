import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { isRoamError } from '../../src/errors.js';
import type { NameStore, PutRequest, StoreEvent } from '../../src/names/store/store.js';
import { Waiter } from './helpers.js';

/**
 * The contract every NameStore passes (libp2p's interface-compliance-tests, for stores):
 * conditional writes, owner listing, revisions, and watches that replay history then go
 * live without a gap or a duplicate. `open(historyLimit)` makes a fresh, empty store and
 * registers its cleanup with the test.
 */
export type OpenStore = (t: TestContext, opts?: { historyLimit?: number }) => Promise<NameStore>;

const put = (name: string, version: number, owner = name): PutRequest => ({
  name,
  owner,
  version,
  value: JSON.stringify({ name, version }),
});

function collect(store: NameStore, from: number) {
  const events: StoreEvent[] = [];
  const waiter = new Waiter();
  const ready = store.watch(from, (e) => {
    events.push(e);
    waiter.poke();
  });
  return { events, ready, until: (n: number) => waiter.until(() => events.length >= n) };
}

export function storeContract(kind: string, open: OpenStore): void {
  describe(`NameStore contract: ${kind}`, () => {
    test('get, conditional put, revisions', async (t) => {
      const s = await open(t);
      assert.equal(await s.revision(), 0);
      assert.equal(await s.get('a'), undefined);
      assert.deepEqual(await s.putIfNewer(put('a', 1), null), { ok: true, revision: 1 });
      const a1 = await s.get('a');
      assert.deepEqual(a1, { ...put('a', 1), revision: 1 });
      // Not newer: refused whatever the condition.
      for (const v of [1, 0]) {
        const r = await s.putIfNewer(put('a', v));
        assert.equal(r.ok, false);
        assert.equal(!r.ok && r.reason, 'stale');
        assert.equal(!r.ok && r.current?.version, 1);
      }
      // Newer but verified against another revision: a conflict, nothing written.
      const c = await s.putIfNewer(put('a', 5), null);
      assert.equal(!c.ok && c.reason, 'conflict');
      const c2 = await s.putIfNewer(put('a', 5), 7);
      assert.equal(!c2.ok && c2.reason, 'conflict');
      assert.deepEqual(await s.putIfNewer(put('a', 5), 1), { ok: true, revision: 2 });
      assert.deepEqual(await s.putIfNewer(put('b', 1)), { ok: true, revision: 3 });
      assert.equal(await s.revision(), 3);
      assert.equal((await s.get('a'))?.version, 5);
    });

    test('racing writers verified against the same revision: exactly one wins', async (t) => {
      const s = await open(t);
      await s.putIfNewer(put('n', 1));
      const results = await Promise.all([2, 3, 4, 5, 6].map((v) => s.putIfNewer(put('n', v), 1)));
      assert.equal(results.filter((r) => r.ok).length, 1);
      const winner = results.findIndex((r) => r.ok) + 2;
      assert.equal((await s.get('n'))?.version, winner);
    });

    test('list by owner, delete, snapshot at one revision', async (t) => {
      const s = await open(t);
      await s.putIfNewer(put('bob@x', 1));
      await s.putIfNewer(put('phone.bob@x', 1, 'bob@x'));
      await s.putIfNewer(put('laptop.bob@x', 1, 'bob@x'));
      await s.putIfNewer(put('eve@x', 1));
      assert.deepEqual(
        (await s.listByOwner('bob@x')).map((e) => e.name),
        ['bob@x', 'laptop.bob@x', 'phone.bob@x'],
      );
      assert.deepEqual(await s.listByOwner('nobody@x'), []);
      assert.deepEqual(await s.delete('phone.bob@x', 99), { deleted: false, revision: 4 });
      assert.deepEqual(await s.delete('phone.bob@x', 2), { deleted: true, revision: 5 });
      assert.deepEqual(await s.delete('phone.bob@x'), { deleted: false, revision: 5 });
      assert.equal(await s.get('phone.bob@x'), undefined);
      const snap = await s.snapshot(['eve@x', 'ghost@x'], ['bob@x']);
      assert.equal(snap.revision, 5);
      assert.deepEqual(snap.entries.map((e) => e.name).sort(), ['bob@x', 'eve@x', 'laptop.bob@x']);
      // A deleted name can be written again, from any version.
      assert.equal((await s.putIfNewer(put('phone.bob@x', 1, 'bob@x'), null)).ok, true);
    });

    test('watch: history after the revision, then live events, each once and in order', async (t) => {
      const s = await open(t);
      for (let v = 1; v <= 3; v++) await s.putIfNewer(put('w', v));
      const w = collect(s, 1);
      const handle = await w.ready;
      t.after(() => handle.close());
      await s.putIfNewer(put('w', 4));
      await s.delete('w');
      await w.until(4);
      assert.deepEqual(
        w.events.map((e) => [e.type, e.revision, e.version]),
        [
          ['put', 2, 2],
          ['put', 3, 3],
          ['put', 4, 4],
          ['delete', 5, 4],
        ],
      );
      assert.equal(w.events[3]?.value, undefined);
      assert.equal(w.events[0]?.value, put('w', 2).value);
      handle.close();
      await s.putIfNewer(put('w', 9));
      assert.equal(w.events.length, 4, 'a closed watch hears nothing more');
    });

    test('watch from the current revision is live only; from the future or compacted history is refused', async (t) => {
      const s = await open(t, { historyLimit: 4 });
      for (let v = 1; v <= 20; v++) await s.putIfNewer(put('h', v));
      const live = collect(s, 20);
      const handle = await live.ready;
      t.after(() => handle.close());
      await s.putIfNewer(put('h', 21));
      await live.until(1);
      assert.deepEqual(
        live.events.map((e) => e.revision),
        [21],
      );
      await assert.rejects(
        s.watch(22, () => undefined),
        (e) => isRoamError(e, 'ROAM_NAMES_COMPACTED') && /ahead/.test(e.message),
      );
      await assert.rejects(
        s.watch(1, () => undefined),
        (e) => isRoamError(e, 'ROAM_NAMES_COMPACTED') && /compacted/.test(e.message),
      );
      const recent = collect(s, 17);
      (await recent.ready).close();
      assert.deepEqual(
        recent.events.map((e) => e.revision),
        [18, 19, 20, 21],
      );
    });

    test('a closed store refuses work', async (t) => {
      const s = await open(t);
      await s.close();
      await assert.rejects(s.get('a'), (e) => isRoamError(e, 'ROAM_NAMES_DB'));
      await assert.rejects(s.putIfNewer(put('a', 1)), (e) => isRoamError(e, 'ROAM_NAMES_DB'));
    });
  });
}
