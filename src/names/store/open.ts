import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { EtcdStore } from './etcd/etcd-store.js';
import { MemoryStore } from './memory-store.js';
import { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
import type { NameStore } from './store.js';

/** Where `roam names serve` keeps its database when not told: $XDG_STATE_HOME/roam/names.db. */
export function defaultDbPath(): string {
  const state = process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(state, 'roam', 'names.db');
}

/** `:memory:` is the in-memory store (lost at exit); anything else is a SQLite file. */
export function openStore(db: string, opts: SqliteStoreOptions = {}): NameStore {
  if (db === ':memory:') return new MemoryStore();
  mkdirSync(dirname(db), { recursive: true });
  return SqliteStore.open(db, opts);
}

/** Which store `roam names serve` runs on. */
export type StoreSpec =
  | { kind: 'sqlite'; file: string; synchronous?: 'full' | 'normal' }
  | { kind: 'memory' }
  | { kind: 'etcd'; endpoints: string[]; prefix?: string; timeoutMs?: number };

/** Opens any store; etcd is reached before this returns (or fails with a clear error). */
export async function openNameStore(spec: StoreSpec): Promise<NameStore> {
  switch (spec.kind) {
    case 'memory':
      return new MemoryStore();
    case 'sqlite':
      return openStore(
        spec.file,
        spec.synchronous !== undefined ? { synchronous: spec.synchronous } : {},
      );
    case 'etcd':
      return EtcdStore.open({
        endpoints: spec.endpoints,
        ...(spec.prefix !== undefined ? { prefix: spec.prefix } : {}),
        ...(spec.timeoutMs !== undefined ? { timeoutMs: spec.timeoutMs } : {}),
      });
  }
}
