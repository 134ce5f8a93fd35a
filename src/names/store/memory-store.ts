import { randomUUID } from 'node:crypto';
import { namesError } from '../codes.js';
import type {
  NameStore,
  PutRequest,
  PutResult,
  Snapshot,
  StoreEntry,
  StoreEvent,
  WatchHandle,
  WatchListener,
} from './store.js';
import { checkWatchFrom, deliver, Watchers } from './watchers.js';

export interface MemoryStoreOptions {
  /** Events kept for watches that resume; older ones are compacted. */
  historyLimit?: number;
}

/** The store for unit tests and `--db :memory:`: everything is lost when the process ends. */
export class MemoryStore implements NameStore {
  readonly id = randomUUID();
  private readonly entries = new Map<string, StoreEntry>();
  private readonly byOwner = new Map<string, Set<string>>();
  private history: StoreEvent[] = [];
  private rev = 0;
  private compacted = 0;
  private readonly watchers = new Watchers();
  private closed = false;
  private readonly historyLimit: number;

  constructor(opts: MemoryStoreOptions = {}) {
    this.historyLimit = opts.historyLimit ?? 100_000;
  }

  private open(): void {
    if (this.closed) throw namesError('ROAM_NAMES_DB', 'the name store is closed');
  }

  async get(name: string): Promise<StoreEntry | undefined> {
    this.open();
    return this.entries.get(name);
  }

  async putIfNewer(req: PutRequest, expectRevision?: number | null): Promise<PutResult> {
    this.open();
    const current = this.entries.get(req.name);
    if (expectRevision !== undefined && (current?.revision ?? null) !== expectRevision)
      return { ok: false, reason: 'conflict', current };
    if (current && req.version <= current.version) return { ok: false, reason: 'stale', current };
    const revision = ++this.rev;
    const entry: StoreEntry = { ...req, revision };
    if (current && current.owner !== req.owner) this.unindex(current);
    this.entries.set(req.name, entry);
    let names = this.byOwner.get(req.owner);
    if (!names) this.byOwner.set(req.owner, (names = new Set()));
    names.add(req.name);
    this.record({ type: 'put', revision, ...req });
    return { ok: true, revision };
  }

  async delete(
    name: string,
    expectRevision?: number,
  ): Promise<{ deleted: boolean; revision: number }> {
    this.open();
    const current = this.entries.get(name);
    if (!current || (expectRevision !== undefined && current.revision !== expectRevision))
      return { deleted: false, revision: this.rev };
    const revision = ++this.rev;
    this.entries.delete(name);
    this.unindex(current);
    const { owner, version } = current;
    this.record({ type: 'delete', revision, name, owner, version, value: undefined });
    return { deleted: true, revision };
  }

  async listByOwner(owner: string): Promise<StoreEntry[]> {
    this.open();
    return this.owned(owner);
  }

  private owned(owner: string): StoreEntry[] {
    const names = [...(this.byOwner.get(owner) ?? [])].sort();
    return names.flatMap((n) => this.entries.get(n) ?? []);
  }

  async snapshot(names: readonly string[], owners: readonly string[]): Promise<Snapshot> {
    this.open();
    const found = new Map<string, StoreEntry>();
    for (const n of names) {
      const e = this.entries.get(n);
      if (e) found.set(n, e);
    }
    // No await in here: the snapshot is read in one turn, at one revision.
    for (const o of owners) for (const e of this.owned(o)) found.set(e.name, e);
    return { revision: this.rev, entries: [...found.values()] };
  }

  async revision(): Promise<number> {
    this.open();
    return this.rev;
  }

  async watch(fromRevision: number, listener: WatchListener): Promise<WatchHandle> {
    this.open();
    checkWatchFrom(fromRevision, this.compacted, this.rev);
    for (const event of this.history) if (event.revision > fromRevision) deliver(listener, event);
    return this.watchers.add(listener);
  }

  onCommit(listener: WatchListener): WatchHandle {
    return this.watchers.add(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watchers.clear();
    return;
  }

  private unindex(entry: StoreEntry): void {
    const names = this.byOwner.get(entry.owner);
    names?.delete(entry.name);
    if (names?.size === 0) this.byOwner.delete(entry.owner);
  }

  private record(event: StoreEvent): void {
    this.history.push(event);
    if (this.history.length > this.historyLimit + Math.max(16, this.historyLimit >> 2)) {
      const drop = this.history.length - this.historyLimit;
      this.compacted = this.history[drop - 1]?.revision ?? this.compacted;
      this.history = this.history.slice(drop);
    }
    this.watchers.emit(event);
  }
}
