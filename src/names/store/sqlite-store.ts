import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { RoamError } from '../../errors.js';
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
import { SCHEMA, type Statements, prepareStatements } from './sqlite-schema.js';

export interface SqliteStoreOptions {
  /** Events kept for watches that resume; older ones are compacted. */
  historyLimit?: number;
  /**
   * NORMAL (default; WAL): an acknowledged write survives a crash or kill of the server
   * (it is in the WAL file, handed to the kernel at commit); power loss or a kernel crash
   * may lose the last writes before a checkpoint, never corrupt the file. FULL: an fsync
   * per write, so a write is on disk when acknowledged, at the cost of a disk flush in
   * every update's (and watch delivery's) latency.
   */
  synchronous?: 'full' | 'normal';
}

/**
 * The embedded store: one SQLite file (WAL) through better-sqlite3, which needs nothing
 * installed and survives restarts. The file is held with an exclusive lock, so a second
 * server on the same file fails at once (ROAM_NAMES_DB_LOCKED) instead of corrupting the
 * revision sequence. better-sqlite3 is synchronous: a write and the delivery of its event to
 * watchers happen in one turn of the event loop, so a watch's history replay and its live
 * events never overlap or leave a gap.
 */
export class SqliteStore implements NameStore {
  readonly id: string;
  private rev: number;
  private compacted: number;
  /** What `compacted` becomes if the running write transaction commits. */
  private compactedAfterCommit = 0;
  private readonly watchers = new Watchers();
  private readonly historyLimit: number;

  private constructor(
    private readonly db: Database.Database,
    private readonly q: Statements,
    opts: SqliteStoreOptions,
  ) {
    this.historyLimit = opts.historyLimit ?? 100_000;
    this.id = q.getMeta.get('id')?.value ?? randomUUID();
    q.setMeta.run('id', this.id);
    this.rev = Number(q.getMeta.get('revision')?.value ?? 0);
    this.compacted = Number(q.getMeta.get('compacted')?.value ?? 0);
  }

  static open(file: string, opts: SqliteStoreOptions = {}): SqliteStore {
    let db: Database.Database | undefined;
    try {
      db = new Database(file, { timeout: 100 });
      db.pragma('locking_mode = EXCLUSIVE');
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${opts.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      db.exec(SCHEMA);
      return new SqliteStore(db, prepareStatements(db), opts);
    } catch (err) {
      db?.close();
      const code = (err as { code?: string }).code;
      if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED')
        throw namesError(
          'ROAM_NAMES_DB_LOCKED',
          `${file} is in use by another name server; stop it or use another --db`,
          { cause: err },
        );
      throw namesError(
        'ROAM_NAMES_DB',
        `cannot open the name database ${file}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  private run<T>(what: string, fn: () => T): Promise<T> {
    if (!this.db.open)
      return Promise.reject(namesError('ROAM_NAMES_DB', 'the name store is closed'));
    try {
      return Promise.resolve(fn());
    } catch (err) {
      if (err instanceof RoamError) return Promise.reject(err);
      return Promise.reject(
        namesError('ROAM_NAMES_DB', `name database ${what} failed: ${(err as Error).message}`, {
          cause: err,
        }),
      );
    }
  }

  get(name: string): Promise<StoreEntry | undefined> {
    return this.run('read', () => this.q.get.get(name));
  }

  putIfNewer(req: PutRequest, expectRevision?: number | null): Promise<PutResult> {
    return this.run('write', () => {
      const result = this.db
        .transaction((): PutResult => {
          const current = this.q.get.get(req.name);
          if (expectRevision !== undefined && (current?.revision ?? null) !== expectRevision)
            return { ok: false, reason: 'conflict', current };
          if (current && req.version <= current.version)
            return { ok: false, reason: 'stale', current };
          const revision = this.rev + 1;
          this.q.upsert.run({ ...req, revision });
          this.writeEvent({ type: 'put', revision, ...req });
          return { ok: true, revision };
        })
        .immediate();
      if (result.ok) this.committed({ type: 'put', revision: result.revision, ...req });
      return result;
    });
  }

  delete(name: string, expectRevision?: number): Promise<{ deleted: boolean; revision: number }> {
    return this.run('delete', () => {
      const event = this.db
        .transaction((): StoreEvent | undefined => {
          const cur = this.q.get.get(name);
          if (!cur || (expectRevision !== undefined && cur.revision !== expectRevision))
            return undefined;
          const e: StoreEvent = {
            type: 'delete',
            revision: this.rev + 1,
            name,
            owner: cur.owner,
            version: cur.version,
            value: undefined,
          };
          this.q.remove.run(name);
          this.writeEvent(e);
          return e;
        })
        .immediate();
      if (!event) return { deleted: false, revision: this.rev };
      this.committed(event);
      return { deleted: true, revision: event.revision };
    });
  }

  listByOwner(owner: string): Promise<StoreEntry[]> {
    return this.run('read', () => this.q.byOwner.all(owner));
  }

  snapshot(names: readonly string[], owners: readonly string[]): Promise<Snapshot> {
    return this.run('read', () => {
      const found = new Map<string, StoreEntry>();
      for (const n of names) {
        const e = this.q.get.get(n);
        if (e) found.set(n, e);
      }
      for (const o of owners) for (const e of this.q.byOwner.all(o)) found.set(e.name, e);
      return { revision: this.rev, entries: [...found.values()] };
    });
  }

  revision(): Promise<number> {
    return this.run('read', () => this.rev);
  }

  watch(fromRevision: number, listener: WatchListener): Promise<WatchHandle> {
    return this.run('watch', () => {
      checkWatchFrom(fromRevision, this.compacted, this.rev);
      for (const row of this.q.eventsAfter.iterate(fromRevision))
        deliver(listener, {
          ...row,
          type: row.type === 'delete' ? 'delete' : 'put',
          value: row.value ?? undefined,
        });
      return this.watchers.add(listener);
    });
  }

  onCommit(listener: WatchListener): WatchHandle {
    return this.watchers.add(listener);
  }

  close(): Promise<void> {
    this.watchers.clear();
    if (this.db.open) this.db.close();
    return Promise.resolve();
  }

  /** Inside a write transaction: append the event, move the revision, compact the history. */
  private writeEvent(e: StoreEvent): void {
    this.q.insertEvent.run({ ...e, value: e.value ?? null });
    this.q.setMeta.run('revision', String(e.revision));
    this.compactedAfterCommit = this.compacted;
    const cut = e.revision - this.historyLimit;
    // Trim in batches: one DELETE every 256 writes keeps the cost off the common path.
    if (cut > this.compacted && (e.revision % 256 === 0 || this.historyLimit < 256)) {
      this.q.compact.run(cut);
      this.q.setMeta.run('compacted', String(cut));
      this.compactedAfterCommit = cut;
    }
  }

  /** After commit: the in-memory view follows the file, then watchers hear of it. */
  private committed(e: StoreEvent): void {
    this.rev = e.revision;
    this.compacted = this.compactedAfterCommit;
    this.watchers.emit(e);
  }
}
