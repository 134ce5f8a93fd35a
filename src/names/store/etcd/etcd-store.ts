import { createHash } from 'node:crypto';
import type { IKeyValue, IRequestOp, IResponseOp, ITxnResponse } from 'etcd3';
import type { RoamError } from '../../../errors.js';
import { rootLogger } from '../../../log/logger.js';
import { namesError } from '../../codes.js';
import type {
  ChangeFeed,
  NameStore,
  PresenceBoard,
  PutRequest,
  PutResult,
  Snapshot,
  StoreEntry,
  WatchHandle,
  WatchListener,
} from '../store.js';
import { type ChangeFeedOptions, EtcdChangeFeed } from './change-feed.js';
import { type Attempt, EtcdConnection, type EtcdConnectionOptions } from './connection.js';
import { decodeEntry, encodeEntry, EtcdLayout, padVersion } from './layout.js';
import { EtcdPresenceBoard } from './presence-board.js';
import { EtcdWatch } from './watch.js';

export interface EtcdStoreOptions extends EtcdConnectionOptions {
  /** Key prefix of this store in etcd (default `roam/names/`); one cluster can hold several. */
  prefix?: string;
  /**
   * Revisions of history kept for watches that resume: the store compacts etcd (the whole
   * cluster's history, as etcd only compacts globally) this far behind its writes. null
   * leaves compaction to etcd's --auto-compaction-* flags. Default 100,000.
   */
  historyLimit?: number | null;
  /**
   * The change feed that keeps a server's lookup cache current from one etcd watch
   * (EtcdChangeFeed), so lookups are answered from memory; false: every lookup reads etcd.
   * Default on.
   */
  changeFeed?: boolean | ChangeFeedOptions;
}

const META_VALUE = 'roam names store v1';
/** Operations per transaction: etcd refuses more than --max-txn-ops (128 by default). */
const TXN_OPS = 100;
/** Reads and retries of an unconditional write that other writers keep overtaking. */
const RACE_ROUNDS = 16;

/**
 * A NameStore on an etcd v3 cluster, so several `roam names serve` processes can share one
 * store. Store revisions are etcd revisions, counted from the revision that created the
 * store's prefix (its `meta` key), so a new store starts at 0 like the embedded ones and
 * every server over the same prefix agrees on every number. Writes are etcd transactions
 * (compare mod_revision and the version, then write the entry, its owner index and the
 * `last` marker at one revision); reads are linearizable; watches are etcd watches.
 * A name's owner follows from the name (ownerOf), so a put never moves an entry to another
 * owner's index.
 */
export class EtcdStore implements NameStore {
  readonly id: string;
  private readonly watches = new Set<EtcdWatch>();
  private compactedTo = 0;
  private feed: EtcdChangeFeed | undefined;
  readonly presenceBoard: PresenceBoard;

  private constructor(
    private readonly conn: EtcdConnection,
    private readonly layout: EtcdLayout,
    /** etcd revision of the store's revision 0. */
    private readonly base: number,
    clusterId: string,
    private readonly historyLimit: number | null,
  ) {
    this.presenceBoard = new EtcdPresenceBoard(conn, layout);
    const tag = createHash('sha256').update(`${layout.prefix}\0${base}`).digest('hex').slice(0, 16);
    this.id = `etcd-${BigInt(clusterId).toString(16).padStart(16, '0')}-${tag}`;
  }

  /** Connects, creating the store's prefix if it is new. Unreachable etcd: a clear error. */
  static async open(opts: EtcdStoreOptions): Promise<EtcdStore> {
    const prefix = opts.prefix ?? 'roam/names/';
    if (!prefix || prefix.length > 200)
      throw namesError('ROAM_NAMES_CONFIG', 'the etcd key prefix must be 1 to 200 characters');
    const historyLimit = opts.historyLimit === undefined ? 100_000 : opts.historyLimit;
    if (historyLimit !== null && !(Number.isSafeInteger(historyLimit) && historyLimit >= 1))
      throw namesError('ROAM_NAMES_CONFIG', 'historyLimit must be a positive integer or null');
    const conn = new EtcdConnection(opts);
    const layout = new EtcdLayout(prefix);
    try {
      const res = await conn.call('open', (a) =>
        conn.client.kv.txn(
          {
            compare: [{ key: layout.meta, target: 'Create', result: 'Equal', create_revision: 0 }],
            success: [{ request_put: { key: layout.meta, value: Buffer.from(META_VALUE) } }],
            failure: [{ request_range: { key: layout.meta } }],
          },
          { deadline: a.deadline },
        ),
      );
      const meta = res.succeeded ? undefined : res.responses[0]?.response_range.kvs[0];
      if (meta && meta.value.toString() !== META_VALUE)
        throw namesError(
          'ROAM_NAMES_CONFIG',
          `etcd key ${layout.meta.toString()} is not a roam names store; choose another --etcd-prefix`,
        );
      const base = meta ? Number(meta.create_revision) : Number(res.header.revision);
      const store = new EtcdStore(conn, layout, base, res.header.cluster_id, historyLimit);
      const feed = opts.changeFeed ?? true;
      if (feed !== false) {
        store.feed = new EtcdChangeFeed(
          {
            revision: () => store.revision(),
            openWatch: (from, listener, onBroken, onProgress) =>
              store.openWatch(from, listener, onBroken, onProgress),
            pause: (ms) => conn.pause(ms),
          },
          feed === true ? {} : feed,
        );
        await store.feed.start().catch((err: unknown) => {
          store.feed?.close();
          throw err;
        });
      }
      return store;
    } catch (err) {
      conn.close();
      throw err;
    }
  }

  get changeFeed(): ChangeFeed | undefined {
    return this.feed;
  }

  /** The feed with its counters (reloads, silent resumes), for tests and benchmarks. */
  get etcdChangeFeed(): EtcdChangeFeed | undefined {
    return this.feed;
  }

  get(name: string): Promise<StoreEntry | undefined> {
    return this.conn.call('read', async (a) => {
      const res = await this.conn.client.kv.range(
        { key: this.layout.nameKey(name) },
        { deadline: a.deadline },
      );
      return this.entry(name, res.kvs[0]);
    });
  }

  async putIfNewer(req: PutRequest, expectRevision?: number | null): Promise<PutResult> {
    const value = encodeEntry(req.owner, req.version, req.value);
    const key = this.layout.nameKey(req.name);
    for (let round = 0; ; round++) {
      // Without an expected revision, compare against what is there now, and go again if
      // another writer got in between (that is not a conflict for this caller).
      const expected =
        expectRevision !== undefined
          ? expectRevision
          : ((await this.get(req.name))?.revision ?? null);
      const result = await this.conn.call('write', (a) =>
        this.tryPut(req, key, value, expected, a),
      );
      // Bounded: under endless contention the caller hears of a conflict.
      if (result === 'again' && expectRevision === undefined && round < RACE_ROUNDS) continue;
      if (result === 'again')
        return { ok: false, reason: 'conflict', current: await this.get(req.name) };
      if (result.ok) {
        this.feed?.wrote({ type: 'put', revision: result.revision, ...req });
        await this.compactBehind(result.revision);
      }
      return result;
    }
  }

  private async tryPut(
    req: PutRequest,
    key: Buffer,
    value: Buffer,
    expected: number | null,
    a: Attempt,
  ): Promise<PutResult | 'again'> {
    const compare =
      expected === null
        ? [{ key, target: 'Create' as const, result: 'Equal' as const, create_revision: 0 }]
        : [
            {
              key,
              target: 'Mod' as const,
              result: 'Equal' as const,
              mod_revision: this.base + expected,
            },
            {
              key,
              target: 'Value' as const,
              result: 'Less' as const,
              value: Buffer.from(padVersion(req.version)),
            },
          ];
    const success: IRequestOp[] = [
      { request_put: { key, value } },
      { request_put: { key: this.layout.ownerKey(req.owner, req.name), value } },
      { request_put: { key: this.layout.last, value: Buffer.alloc(0) } },
    ];
    const res = await this.conn.client.kv.txn(
      { compare, success, failure: [{ request_range: { key } }] },
      { deadline: a.deadline },
    );
    if (res.succeeded) return { ok: true, revision: this.rev(res) };
    const kv = res.responses[0]?.response_range.kvs[0];
    // An earlier attempt that timed out may have been applied: then what is stored is ours.
    if (a.ambiguous && kv && kv.value.equals(value))
      return { ok: true, revision: Number(kv.mod_revision) - this.base };
    const stored = this.entry(req.name, kv);
    if ((stored?.revision ?? null) !== expected) return 'again';
    return { ok: false, reason: 'stale', current: stored };
  }

  async delete(
    name: string,
    expectRevision?: number,
  ): Promise<{ deleted: boolean; revision: number }> {
    for (let round = 0; ; round++) {
      const read = await this.conn.call('read', (a) =>
        this.conn.client.kv.range({ key: this.layout.nameKey(name) }, { deadline: a.deadline }),
      );
      const cur = this.entry(name, read.kvs[0]);
      if (!cur || (expectRevision !== undefined && cur.revision !== expectRevision))
        return { deleted: false, revision: this.rev(read) };
      const key = this.layout.nameKey(name);
      const res = await this.conn.call('delete', (a) =>
        this.conn.client.kv.txn(
          {
            compare: [
              { key, target: 'Mod', result: 'Equal', mod_revision: this.base + cur.revision },
            ],
            success: [
              { request_delete_range: { key } },
              { request_delete_range: { key: this.layout.ownerKey(cur.owner, name) } },
              { request_put: { key: this.layout.last, value: Buffer.alloc(0) } },
            ],
          },
          { deadline: a.deadline },
        ),
      );
      if (res.succeeded) {
        const revision = this.rev(res);
        this.feed?.wrote({ ...cur, type: 'delete', revision, value: undefined });
        return { deleted: true, revision };
      }
      if (round >= RACE_ROUNDS)
        throw namesError('ROAM_NAMES_CONFLICT', `${name} keeps changing; try the delete again`);
    }
  }

  listByOwner(owner: string): Promise<StoreEntry[]> {
    return this.conn.call('read', async (a) => {
      const res = await this.conn.client.kv.range(this.layout.ownerRange(owner), {
        deadline: a.deadline,
      });
      return this.owned(res.kvs);
    });
  }

  snapshot(names: readonly string[], owners: readonly string[]): Promise<Snapshot> {
    const ops: { name?: string; op: IRequestOp['request_range'] }[] = [
      ...names.map((name) => ({ name, op: { key: this.layout.nameKey(name) } })),
      ...owners.map((o) => ({ op: this.layout.ownerRange(o) })),
    ];
    if (ops.length === 0) return this.revision().then((revision) => ({ revision, entries: [] }));
    return this.conn.call('read', async (a) => {
      // One transaction reads at one revision; more ops than etcd allows in one are read at
      // the first transaction's revision.
      const found = new Map<string, StoreEntry>();
      let at: number | undefined;
      for (let i = 0; i < ops.length; i += TXN_OPS) {
        const chunk = ops.slice(i, i + TXN_OPS);
        const res = await this.conn.client.kv.txn(
          {
            success: chunk.map(({ op }) => ({
              request_range: { ...op, ...(at ? { revision: at } : {}) },
            })),
          },
          { deadline: a.deadline },
        );
        at ??= Number(res.header.revision);
        res.responses.forEach((r: IResponseOp, j) => {
          const name = chunk[j]?.name;
          const entries =
            name !== undefined
              ? [this.entry(name, r.response_range.kvs[0])].filter((e) => e !== undefined)
              : this.owned(r.response_range.kvs);
          for (const e of entries) found.set(e.name, e);
        });
      }
      return { revision: (at ?? this.base) - this.base, entries: [...found.values()] };
    });
  }

  revision(): Promise<number> {
    return this.conn.call('read', async (a) => {
      const res = await this.conn.client.kv.range(
        { key: this.layout.meta, count_only: true },
        { deadline: a.deadline },
      );
      return this.rev(res);
    });
  }

  async watch(
    fromRevision: number,
    listener: WatchListener,
    onBroken?: (err: RoamError) => void,
  ): Promise<WatchHandle> {
    const w = await this.openWatch(fromRevision, listener, (err) => {
      if (onBroken) onBroken(err);
      else rootLogger().warn({ err }, 'names store: an etcd watch ended');
    });
    return {
      close: () => {
        this.watches.delete(w);
        w.close();
      },
    };
  }

  /** An EtcdWatch from `fromRevision`, its history delivered (watch(), the change feed). */
  async openWatch(
    fromRevision: number,
    listener: WatchListener,
    onBroken: (err: RoamError) => void,
    onProgress?: () => void,
  ): Promise<EtcdWatch> {
    if (!Number.isSafeInteger(fromRevision) || fromRevision < 0)
      throw namesError('ROAM_NAMES_INVALID', `watch revision ${fromRevision} is not a revision`);
    // Reading the store at `fromRevision` fails exactly when etcd's history no longer (or
    // not yet) reaches it; the `last` marker says where the history to replay ends.
    const res = await this.conn.call('watch', (a) =>
      this.conn.client.kv
        .txn(
          {
            success: [
              {
                request_range: {
                  key: this.layout.meta,
                  count_only: true,
                  revision: this.base + fromRevision,
                },
              },
              { request_range: { key: this.layout.last } },
            ],
          },
          { deadline: a.deadline },
        )
        .catch((err: Error) => {
          throw this.revisionError(err, fromRevision) ?? err;
        }),
    );
    const last = res.responses[1]?.response_range.kvs[0];
    const w = new EtcdWatch({
      conn: this.conn,
      layout: this.layout,
      base: this.base,
      start: this.base + fromRevision + 1,
      historyUntil: last ? Number(last.mod_revision) : 0,
      listener,
      onBroken: (err) => {
        this.watches.delete(w);
        onBroken(err);
      },
      ...(onProgress ? { onProgress } : {}),
    });
    this.watches.add(w);
    try {
      await w.ready;
    } catch (err) {
      this.watches.delete(w);
      throw err;
    }
    return w;
  }

  close(): Promise<void> {
    this.feed?.close();
    for (const w of this.watches) w.close();
    this.watches.clear();
    this.conn.close();
    return Promise.resolve();
  }

  private revisionError(err: Error, from: number): RoamError | undefined {
    if (/required revision has been compacted/.test(err.message))
      return namesError(
        'ROAM_NAMES_COMPACTED',
        `revision ${from} is compacted (etcd no longer holds its history); read the names again and watch from the new revision`,
      );
    if (/required revision is a future revision/.test(err.message))
      return namesError(
        'ROAM_NAMES_COMPACTED',
        `revision ${from} is ahead of this store; read the names again and watch from the new revision`,
      );
    return undefined;
  }

  /** Compacts etcd `historyLimit` revisions behind this write (in batches, like SQLite's). */
  private async compactBehind(revision: number): Promise<void> {
    if (this.historyLimit === null) return;
    const cut = revision - this.historyLimit;
    if (cut <= this.compactedTo || (revision % 256 !== 0 && this.historyLimit >= 256)) return;
    this.compactedTo = cut;
    try {
      await this.conn.call('compaction', (a) =>
        this.conn.client.kv.compact({ revision: this.base + cut }, { deadline: a.deadline }),
      );
    } catch (err) {
      // Another server compacted further already, or etcd is busy: the next batch retries.
      if (!/compacted/.test((err as Error).message))
        rootLogger().warn({ err }, 'names store: etcd compaction failed');
    }
  }

  private rev(res: { header: { revision: string } } | ITxnResponse): number {
    return Number(res.header.revision) - this.base;
  }

  private entry(name: string, kv: IKeyValue | undefined): StoreEntry | undefined {
    if (!kv) return undefined;
    return { name, ...decodeEntry(kv.value), revision: Number(kv.mod_revision) - this.base };
  }

  private owned(kvs: IKeyValue[]): StoreEntry[] {
    return kvs.map((kv) => {
      const key = kv.key.toString('utf8');
      const name = key.slice(key.lastIndexOf('/') + 1);
      return { name, ...decodeEntry(kv.value), revision: Number(kv.mod_revision) - this.base };
    });
  }
}
