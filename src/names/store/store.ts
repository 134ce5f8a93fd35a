import type { RoamError } from '../../errors.js';

/**
 * Where name records live. The interface is shaped like etcd's, so an etcd store fits
 * behind it: every write gets a store-wide revision (etcd's mod_revision), writes are
 * conditional (a compare inside one transaction), and a watch starts from a revision and
 * first replays the history after it, then streams new events: a watcher that remembers the
 * last revision it saw misses nothing across a reconnect, as long as the history still holds
 * it (older revisions are compacted away: ROAM_NAMES_COMPACTED, and the caller re-reads).
 *
 * The store keeps records as opaque JSON text; verification is the service's job.
 */
export interface StoreEntry {
  readonly name: string;
  /** The user a name belongs to (itself for users and bare names): listByOwner's index. */
  readonly owner: string;
  readonly version: number;
  /** Revision of the write that made this entry. */
  readonly revision: number;
  /** The signed record, JSON. */
  readonly value: string;
}

export interface StoreEvent {
  readonly type: 'put' | 'delete';
  readonly revision: number;
  readonly name: string;
  readonly owner: string;
  readonly version: number;
  /** The new value for a put; undefined for a delete. */
  readonly value: string | undefined;
}

export interface PutRequest {
  readonly name: string;
  readonly owner: string;
  readonly version: number;
  readonly value: string;
}

export type PutResult =
  | { readonly ok: true; readonly revision: number }
  | {
      readonly ok: false;
      /** stale: version not above the stored one; conflict: expectRevision did not match. */
      readonly reason: 'stale' | 'conflict';
      readonly current: StoreEntry | undefined;
    };

export interface Snapshot {
  /** Every entry below is as of this revision; watch from it to continue without a gap. */
  readonly revision: number;
  readonly entries: readonly StoreEntry[];
}

export interface WatchHandle {
  close(): void;
}

export type WatchListener = (event: StoreEvent) => void;

export interface NameStore {
  /** Identifies this store's revision sequence: a new database has a new id. */
  readonly id: string;
  get(name: string): Promise<StoreEntry | undefined>;
  /**
   * Writes if `version` is above the stored version and, when `expectRevision` is given,
   * the stored entry's revision is exactly that (null: the name must be absent). Atomic.
   */
  putIfNewer(req: PutRequest, expectRevision?: number | null): Promise<PutResult>;
  /** Removes an entry (if `expectRevision` is given, only at that revision). */
  delete(name: string, expectRevision?: number): Promise<{ deleted: boolean; revision: number }>;
  listByOwner(owner: string): Promise<StoreEntry[]>;
  /** The entries of these names and of these owners, read at one revision. */
  snapshot(names: readonly string[], owners: readonly string[]): Promise<Snapshot>;
  revision(): Promise<number>;
  /**
   * Calls `listener` with every event after `fromRevision`, in revision order, each once:
   * first the history, then live. Throws ROAM_NAMES_COMPACTED if the history no longer
   * reaches back to `fromRevision`, or if `fromRevision` is beyond the current revision.
   * A store whose watch can end by itself (etcd: history compacted while the watch was
   * reconnecting, or etcd gone for too long) calls `onBroken` once, and nothing after it;
   * the caller starts again (a name server ends the SSE stream: its client resumes).
   */
  watch(
    fromRevision: number,
    listener: WatchListener,
    onBroken?: (err: RoamError) => void,
  ): Promise<WatchHandle>;
  /**
   * Only on stores whose every write commits in this process (SQLite, memory): `listener`
   * hears each committed change synchronously, in the turn of the commit and before the
   * write's promise settles, so a cache it invalidates is never behind the store. A store
   * that other processes write too (etcd) has no such hook: its caches are checked against
   * a read.
   */
  onCommit?(listener: WatchListener): WatchHandle;
  /**
   * Only on stores that other processes write too and that keep a server's caches current
   * from a watch of their own (etcd): see ChangeFeed. A store with neither this nor onCommit
   * has its caches checked against a read.
   */
  readonly changeFeed?: ChangeFeed;
  /** Only on stores that several servers share (etcd): soft presence published in batches. */
  readonly presenceBoard?: PresenceBoard;
  close(): Promise<void>;
}

/** Where name servers publish the devices online on them, per shard (presence-batch.ts). */
export interface PresenceBoard {
  /** This server's devices online in `shard` as of `at` (server clock, ms); none: withdrawn. */
  publish(server: string, shard: number, at: number, names: readonly string[]): Promise<void>;
  /** Every server's publication for these shards: name → the newest `at` that lists it. */
  read(shards: readonly number[]): Promise<Map<string, number>>;
}

/** What a change feed tells its listeners: a change, or that every cached answer must go. */
export type FeedSignal =
  { readonly type: 'change'; readonly event: StoreEvent } | { readonly type: 'reset' };

/**
 * Keeps the caches of one server current on a store that several servers write (etcd): one
 * watch of the whole store from a known revision tells of every change, in revision order,
 * and this server's own writes are told in the turn they are acknowledged (read-your-writes).
 * `through` is the revision up to which every change has been told; `serving(now)` says
 * whether a cached answer may be given now (the feed is live, and it confirmed within its
 * staleness bound that it is not behind). When the watch cannot resume without a gap (the
 * history was compacted), the feed says `reset` and starts again from the current revision.
 */
export interface ChangeFeed {
  subscribe(listener: (signal: FeedSignal) => void): WatchHandle;
  readonly through: number;
  /** True while the watch is gapless: a read made now may be cached (it will be invalidated). */
  readonly gapless: boolean;
  serving(): boolean;
  /** Resolves true once `through` ≥ revision, or false after `ms` (or if the feed closes). */
  reach(revision: number, ms: number): Promise<boolean>;
}
