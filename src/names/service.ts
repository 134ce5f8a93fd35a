import { randomUUID } from 'node:crypto';
import { isRoamError } from '../errors.js';
import { type NamesClock, systemClock } from './clock.js';
import { namesError } from './codes.js';
import { verifyBytes } from './keys.js';
import { type LookupAnswer, LookupCache } from './lookup-cache.js';
import { ownerOf, type ParsedName, parseName } from './name.js';
import { type PresenceOptions, PresenceTable } from './presence.js';
import { shardOf } from './presence-batch.js';
import { PresencePublisher, type PublisherOptions } from './presence-publisher.js';
import {
  heartbeatSchema,
  type DeviceState,
  type LookupResult,
  type WriteResult,
} from './protocol.js';
import { heartbeatSigningInput, type NameRecord, parseRecord, parseWith } from './record.js';
import type { ChangeFeed, NameStore, StoreEntry } from './store/store.js';
import { verifyRecord } from './verify.js';

export interface NameServiceOptions {
  clock?: NamesClock;
  /** The furthest expiry a record may carry (default 30 days). */
  maxTtlMs?: number;
  presence?: Partial<PresenceOptions>;
  /** Names whose serialized lookup answer is kept (default 10,000). */
  lookupCacheEntries?: number;
  /**
   * On a store with a change feed (etcd): how long a lookup that names a revision the feed
   * has not reached yet waits for it before reading the store instead (default 50 ms).
   */
  floorWaitMs?: number;
  /**
   * On a store with a presence board (etcd): publish this server's presence in batches
   * (presence-publisher.ts) once startPresencePublisher() is called; false: keep it local.
   */
  presenceBatch?: Partial<PublisherOptions> | false;
}

/** How a lookup may be answered (GET /v1/names/NAME?minRevision=R&linearizable=true). */
export interface LookupOptions {
  /**
   * The newest store revision the client has seen: the answer reflects the store at this
   * revision or later, so a client never gets a record older than one it saw, on any server.
   */
  minRevision?: number;
  /** Read the store (etcd: a linearizable read), not the cache. */
  linearizable?: boolean;
}

type WriteMode = 'register' | 'update' | 'delete';

/**
 * The name service, transport-agnostic: the HTTP server calls it, tests call it directly.
 * Every write is a signed record verified against what is stored, then written with a
 * compare on the revision it was verified against, so two racing writers cannot both win.
 * `admit(key)` runs after a signature verified and before the write: the server charges
 * the per-key rate limit there, so nobody can drain another key's budget with forgeries.
 */
export class NameService {
  readonly clock: NamesClock;
  readonly presence: PresenceTable;
  readonly presenceOptions: PresenceOptions;
  private readonly maxTtlMs: number;
  private readonly answers: LookupCache;
  /** True when the store's onCommit invalidates `answers`: a cached answer needs no read. */
  private readonly coherent: boolean;
  /** The store's change feed (etcd): it invalidates `answers` from one watch of the store. */
  private readonly feed: ChangeFeed | undefined;
  private readonly floorWaitMs: number;
  private readonly batch: PublisherOptions | undefined;

  constructor(
    readonly store: NameStore,
    opts: NameServiceOptions = {},
  ) {
    this.clock = opts.clock ?? systemClock;
    this.maxTtlMs = opts.maxTtlMs ?? 30 * 24 * 3600_000;
    this.presenceOptions = {
      offlineAfterMs: 30_000,
      maxSkewMs: 120_000,
      maxEntries: 100_000,
      ...opts.presence,
    };
    this.presence = new PresenceTable(this.presenceOptions);
    this.answers = new LookupCache(opts.lookupCacheEntries ?? 10_000);
    // A store that tells of every commit as it happens keeps the cache current by itself.
    this.coherent = store.onCommit?.((e) => this.answers.invalidate(e.name)) !== undefined;
    this.feed = this.coherent ? undefined : store.changeFeed;
    this.feed?.subscribe((signal) =>
      signal.type === 'reset' ? this.answers.clear() : this.answers.invalidate(signal.event.name),
    );
    this.floorWaitMs = opts.floorWaitMs ?? 50;
    this.batch =
      store.presenceBoard && opts.presenceBatch !== false
        ? {
            serverId: randomUUID().slice(0, 8),
            intervalMs: 5000,
            shards: 256,
            refreshMs: Math.floor(this.presenceOptions.offlineAfterMs / 3),
            ...opts.presenceBatch,
          }
        : undefined;
  }

  /**
   * Starts publishing this server's presence on the store's board (a store several servers
   * share), so list-devices on any server sees devices online here; undefined if the store
   * has no board. The caller closes it (startNamesServer does, with the server).
   */
  startPresencePublisher(): PresencePublisher | undefined {
    if (!this.batch || !this.store.presenceBoard) return undefined;
    return new PresencePublisher(this.presence, this.store.presenceBoard, this.clock, this.batch);
  }

  register(body: unknown, admit?: (key: string) => void): Promise<WriteResult> {
    return this.write('register', undefined, body, admit);
  }

  update(name: string, body: unknown, admit?: (key: string) => void): Promise<WriteResult> {
    return this.write('update', name, body, admit);
  }

  /** Deletion is a signed tombstone (`deleted: true`, a higher version): replays stay refused. */
  remove(name: string, body: unknown, admit?: (key: string) => void): Promise<WriteResult> {
    return this.write('delete', name, body, admit);
  }

  private async write(
    mode: WriteMode,
    path: string | undefined,
    body: unknown,
    admit?: (key: string) => void,
  ): Promise<WriteResult> {
    const record = parseRecord(body);
    const parsed = parseName(record.name);
    if (path !== undefined && path !== record.name)
      throw namesError(
        'ROAM_NAMES_INVALID',
        `the record is for ${record.name} but the request is for ${path}`,
      );
    if ((mode === 'delete') !== (record.deleted === true))
      throw namesError(
        'ROAM_NAMES_INVALID',
        mode === 'delete'
          ? 'a deletion is a record with "deleted": true'
          : 'a record with "deleted": true is sent with DELETE',
      );
    for (let attempt = 0; attempt < 3; attempt++) {
      const [entry, ownerEntry] = await this.readWithOwner(parsed);
      const current = entry && decode(entry);
      if (mode === 'register' && current && !current.deleted)
        throw namesError(
          'ROAM_NAMES_TAKEN',
          `${record.name} is already registered; update it instead (PUT, or publish)`,
        );
      if (mode !== 'register' && (!current || current.deleted))
        throw namesError(
          'ROAM_NAMES_NOT_FOUND',
          `${record.name} is not registered; register it first (POST /v1/names, or publish)`,
        );
      const owner = ownerEntry && decode(ownerEntry);
      verifyRecord(record, { now: this.clock.now(), current, owner, maxTtlMs: this.maxTtlMs });
      if (mode === 'delete' && parsed.form === 'user') await this.refuseIfDevices(record.name);
      admit?.(record.key);
      const result = await this.store.putIfNewer(
        {
          name: record.name,
          owner: ownerOf(parsed),
          version: record.version,
          value: JSON.stringify(record),
        },
        entry?.revision ?? null,
      );
      if (result.ok) {
        if (record.deleted) this.presence.forget(record.name);
        return { name: record.name, version: record.version, revision: result.revision };
      }
    }
    throw namesError(
      'ROAM_NAMES_CONFLICT',
      `${record.name} is being changed by several writers at once; try again`,
    );
  }

  private async refuseIfDevices(user: string): Promise<void> {
    const children = (await this.store.listByOwner(user)).filter(
      (e) => e.name !== user && !decode(e).deleted,
    );
    if (children.length)
      throw namesError(
        'ROAM_NAMES_CONFLICT',
        `${user} still owns ${children.map((e) => e.name).join(', ')}; delete those first`,
      );
  }

  /**
   * A name's entry and, for a device or child service, its user's: read at one revision, in
   * one store read (one etcd transaction rather than two round trips).
   */
  private async readWithOwner(
    parsed: ParsedName,
  ): Promise<[StoreEntry | undefined, StoreEntry | undefined]> {
    if (parsed.form !== 'child') return [await this.store.get(parsed.name), undefined];
    const snap = await this.store.snapshot([parsed.name, parsed.user], []);
    let entry: StoreEntry | undefined;
    let owner: StoreEntry | undefined;
    for (const e of snap.entries)
      if (e.name === parsed.name) entry = e;
      else if (e.name === parsed.user) owner = e;
    return [entry, owner];
  }

  async lookup(name: string, opts: LookupOptions = {}): Promise<LookupResult> {
    return JSON.parse(await this.lookupJson(name, opts)) as LookupResult;
  }

  /**
   * The lookup answer as JSON text (what GET /v1/names/NAME sends). The name's entry and its
   * owner's are read at one revision; the text is made once per pair of revisions
   * (LookupCache). On a store with onCommit, or with a change feed that is serving and has
   * reached `minRevision`, a cached answer is current without a read. A lookup whose
   * `minRevision` the feed has not reached waits for it briefly, then reads the store.
   */
  async lookupJson(name: string, opts: LookupOptions = {}): Promise<string> {
    if (!opts.linearizable) {
      const floor = opts.minRevision ?? 0;
      const cached = this.cachedLookupJson(name, floor);
      if (cached !== undefined) return cached;
      if (this.feed?.serving() && floor > this.feed.through) {
        const reached = await this.feed.reach(floor, this.floorWaitMs);
        const now = reached ? this.cachedLookupJson(name, floor) : undefined;
        if (now !== undefined) return now;
      }
    }
    return this.live(name, await this.readAnswer(name));
  }

  /**
   * The answer when the cache alone can give it (a store with onCommit, or a change feed
   * serving at `minRevision` or later; the name looked up before and unchanged since), else
   * undefined. Throws as lookupJson does for a deleted or expired name. Synchronous: the
   * server's fast path.
   */
  cachedLookupJson(name: string, minRevision = 0): string | undefined {
    const answer = this.currentAnswer(name, minRevision);
    return answer && this.live(name, answer);
  }

  private currentAnswer(name: string, minRevision = 0): LookupAnswer | undefined {
    if (this.coherent) return this.answers.peek(name);
    if (!this.feed || this.feed.through < minRevision || !this.feed.serving()) return undefined;
    return this.answers.peek(name);
  }

  private live(name: string, answer: LookupAnswer): string {
    if (answer.deleted) throw namesError('ROAM_NAMES_NOT_FOUND', `${name} is not registered`);
    if (answer.expiresAt <= this.clock.now())
      throw namesError(
        'ROAM_NAMES_NOT_FOUND',
        `${name} expired at ${new Date(answer.expiresAt).toISOString()}; its owner must publish it again`,
      );
    return answer.json;
  }

  /** Reads the name and its owner; makes (or, on a store without onCommit, checks) the answer. */
  private async readAnswer(name: string): Promise<LookupAnswer> {
    const parsed = parseName(name);
    const generation = this.answers.generation;
    const [entry, ownerEntry] = await this.readWithOwner(parsed);
    if (!entry) throw namesError('ROAM_NAMES_NOT_FOUND', `${name} is not registered`);
    const ownerRevision = ownerEntry?.revision ?? 0;
    const checked =
      this.coherent || this.feed
        ? undefined
        : this.answers.get(name, entry.revision, ownerRevision);
    if (checked) return checked;
    const record = decode(entry);
    const owner = ownerEntry && decode(ownerEntry);
    const result: LookupResult = {
      record,
      ...(owner ? { owner } : {}),
      revision: entry.revision,
    };
    const answer: LookupAnswer = {
      revision: entry.revision,
      ownerRevision,
      owner: ownerOf(parsed),
      deleted: record.deleted === true,
      expiresAt: record.expiresAt,
      key: record.key,
      json: JSON.stringify(result),
    };
    // Not cached if a commit came between the read and here: the answer may be behind it;
    // nor while a change feed is between watches (no invalidation would reach it).
    if (!this.feed || this.feed.gapless) this.answers.set(name, answer, generation);
    return answer;
  }

  async listDevices(user: string): Promise<DeviceState[]> {
    if (parseName(user).form !== 'user')
      throw namesError('ROAM_NAMES_BAD_NAME', `${user} is not a user name (like bob@example.com)`);
    const entries = await this.store.listByOwner(user);
    if (!entries.some((e) => e.name === user))
      throw namesError('ROAM_NAMES_NOT_FOUND', `${user} is not registered`);
    const now = this.clock.now();
    const devices = entries.map(decode).filter((r) => r.kind === 'device' && !r.deleted);
    const remote = await this.publishedPresence(
      devices.map((d) => d.name),
      now,
    );
    return devices.map((record) => {
      const expired = record.expiresAt <= now;
      const p = this.presence.state(record.name, now);
      // Published by another server: online as of its batch, while that is recent.
      const there = remote.get(record.name);
      const elsewhere = there !== undefined && now - there < this.presenceOptions.offlineAfterMs;
      return {
        name: record.name,
        online: (p.online || elsewhere) && !expired,
        lastSeen: Math.max(p.lastSeen ?? 0, there ?? 0) || null,
        expired,
        record,
      };
    });
  }

  async heartbeat(
    body: unknown,
    admit?: (key: string) => void,
  ): Promise<{ name: string; online: true; offlineAfterMs: number }> {
    const hb = parseWith(heartbeatSchema, body, 'heartbeat');
    // The key is the lookup's (from the cache when it is current): one store read per name,
    // not per heartbeat.
    const record = await this.heartbeatAnswer(hb.name);
    if (!record || record.deleted)
      throw namesError(
        'ROAM_NAMES_NOT_FOUND',
        `${hb.name} is not registered; publish it before sending heartbeats`,
      );
    const now = this.clock.now();
    if (record.expiresAt <= now)
      throw namesError('ROAM_NAMES_EXPIRED', `${hb.name} has expired; publish it again`);
    if (!verifyBytes(record.key, heartbeatSigningInput(hb.name, hb.at), hb.signature))
      throw namesError(
        'ROAM_NAMES_BAD_SIGNATURE',
        `the heartbeat of ${hb.name} is not signed by its key`,
      );
    admit?.(record.key);
    this.presence.beat(hb.name, hb.at, now);
    return { name: hb.name, online: true, offlineAfterMs: this.presenceOptions.offlineAfterMs };
  }

  /** What other servers published of these names' presence (empty without a board). */
  private async publishedPresence(names: string[], now: number): Promise<Map<string, number>> {
    const board = this.batch && this.store.presenceBoard;
    const away = names.filter((n) => !this.presence.state(n, now).online);
    if (!board || !this.batch || away.length === 0) return new Map();
    const shards = this.batch.shards;
    return board.read(away.map((n) => shardOf(n, shards)));
  }

  private async heartbeatAnswer(name: string): Promise<LookupAnswer | undefined> {
    const parsed = parseName(name);
    const cached = this.currentAnswer(parsed.name);
    if (cached) return cached;
    return this.readAnswer(parsed.name).catch((err: unknown) => {
      if (isRoamError(err, 'ROAM_NAMES_NOT_FOUND')) return undefined;
      throw err;
    });
  }
}

/** Entries were verified before they were stored: decoding them again is only JSON. */
export function decode(entry: StoreEntry): NameRecord {
  return JSON.parse(entry.value) as NameRecord;
}
