import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NamesClient } from '../../src/names/client/client.js';
import type { NameChange } from '../../src/names/client/watch.js';
import { generateKeyPair } from '../../src/names/keys.js';
import { startNamesServer } from '../../src/names/http/server.js';
import { NameService } from '../../src/names/service.js';
import { MemoryStore } from '../../src/names/store/memory-store.js';
import { Waiter } from './helpers.js';

// reconnect(): what a host calls after its own address changed (its stream is silently dead).
// The new stream resumes from the last event: a version published in between arrives once.

test('reconnect() reopens the stream at once and resumes without a gap or a repeat', async (t) => {
  const store = new MemoryStore();
  const server = await startNamesServer(new NameService(store), { host: '127.0.0.1', port: 0 });
  t.after(async () => {
    await server.close();
    await store.close();
  });
  const owner = new NamesClient({ server: server.url, key: generateKeyPair() });
  const reader = new NamesClient({ server: server.url });
  t.after(() => (owner.close(), reader.close()));
  await owner.publish({ name: 'svc', attributes: { n: '1' } });
  const seen: NameChange[] = [];
  const waiter = new Waiter();
  let syncs = 0;
  const watch = reader.watch(
    ['svc'],
    (c) => {
      seen.push(c);
      waiter.poke();
    },
    {
      onSync: () => {
        syncs++;
        waiter.poke();
      },
    },
  );
  await watch.ready;
  await waiter.until(() => seen.length === 1);
  watch.reconnect();
  assert.equal(watch.connects, 2);
  await owner.publish({ name: 'svc', attributes: { n: '2' } });
  await waiter.until(() => syncs === 2 && seen.length === 2);
  await owner.publish({ name: 'svc', attributes: { n: '3' } });
  await waiter.until(() => seen.length === 3);
  assert.deepEqual(
    seen.map((c) => c.record.attributes.n),
    ['1', '2', '3'],
  );
  assert.equal(watch.syncs, 2);
  watch.close();
  watch.reconnect(); // closed: does nothing
  assert.equal(watch.state, 'closed');
});
