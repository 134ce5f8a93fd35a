import { MemoryStore } from '../../src/names/store/memory-store.js';
import { storeContract } from './store-contract.js';

storeContract('memory', (t, opts) => {
  const store = new MemoryStore(opts);
  t.after(() => store.close());
  return Promise.resolve(store);
});
