import { randomUUID } from 'node:crypto';
import type { TestContext } from 'node:test';
import { EtcdStore, type EtcdStoreOptions } from '../../src/names/store/etcd/etcd-store.js';
import { type LocalEtcdCluster, startLocalEtcd } from '../../src/names/store/etcd/local-cluster.js';

/** Real etcd processes on loopback for one test (or one file): stopped and removed after. */
export async function withEtcd(
  t: { after(fn: () => unknown): void },
  members = 1,
): Promise<LocalEtcdCluster> {
  const cluster = await startLocalEtcd({ members });
  t.after(() => cluster.stop());
  return cluster;
}

/** A fresh store under its own prefix of `cluster`, closed when the test ends. */
export async function openEtcdStore(
  t: TestContext,
  cluster: LocalEtcdCluster,
  opts: Partial<EtcdStoreOptions> = {},
): Promise<EtcdStore> {
  const store = await EtcdStore.open({
    endpoints: cluster.endpoints,
    prefix: `test/${randomUUID()}/`,
    ...opts,
  });
  t.after(() => store.close());
  return store;
}

/** The value, or a failed test if it is missing. */
export function must<T>(value: T | undefined | null, what: string): T {
  if (value === undefined || value === null) throw new Error(`missing: ${what}`);
  return value;
}
