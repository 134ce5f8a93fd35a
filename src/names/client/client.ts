import { type NamesClock, systemClock } from '../clock.js';
import { isRoamError } from '../../errors.js';
import { namesError } from '../codes.js';
import type { KeyPair } from '../keys.js';
import { parseName } from '../name.js';
import type { DeviceState, LookupResult, WriteResult } from '../protocol.js';
import type { Address, Delegation, Kind, NameRecord, UnsignedRecord } from '../record.js';
import { makeDelegation, signHeartbeat, signRecord } from '../sign.js';
import { VersionCache } from './cache.js';
import { FailoverHttp } from './failover.js';
import { JsonHttp } from './http.js';
import { Trust } from './trust.js';
import { type NameChange, NameWatch, type WatchOptions } from './watch.js';

export interface NamesClientOptions {
  /** The name server, e.g. http://127.0.0.1:7447. */
  server: string;
  /**
   * More servers of the same store (etcd): requests fail over to the next when one cannot
   * be reached or cannot reach its store, and watches resume there (FailoverHttp).
   */
  servers?: string[];
  /** The key this client publishes and heartbeats with. */
  key?: KeyPair;
  /** A user's key, to certify `key` for a device or service name of that user. */
  userKey?: KeyPair;
  /** Keys known in advance (user or bare name → public key), instead of trust on first use. */
  pins?: Record<string, string>;
  clock?: NamesClock;
  timeoutMs?: number;
  /** Lifetime of published records (default one hour). */
  ttlMs?: number;
}

export interface PublishFields {
  name: string;
  kind?: Kind;
  addresses?: Address[];
  control?: { ip: string; port: number };
  relays?: { host: string; port: number }[];
  attributes?: Record<string, string>;
  ttlMs?: number;
  delegation?: Delegation;
}

/**
 * The name service from the client side: `resolve`, `publish`, `watch`, plus heartbeats,
 * deletion and list-devices. Every record from the server is verified before it is
 * returned, and the cache never moves back to an older version.
 */
export class NamesClient {
  readonly cache = new VersionCache();
  private readonly http: JsonHttp;
  private readonly trust: Trust;
  private readonly clock: NamesClock;
  private readonly watches = new Set<NameWatch>();
  private readonly published = new Map<string, number>();
  private lastBeat = 0;
  /**
   * The newest store revision this client has seen (a write's, a lookup's, a watch event's):
   * sent with every lookup, so no server answers with a record older than one seen here.
   */
  knownRevision = 0;

  constructor(private readonly opts: NamesClientOptions) {
    const timeout = opts.timeoutMs ?? 5000;
    const others = (opts.servers ?? []).filter((s) => s !== opts.server);
    this.http = others.length
      ? new FailoverHttp([opts.server, ...others], timeout)
      : new JsonHttp(opts.server, timeout);
    this.clock = opts.clock ?? systemClock;
    const pins = new Map(Object.entries(opts.pins ?? {}));
    this.trust = new Trust(this.cache, this.clock, pins, (user) => this.resolve(user));
  }

  /** The name server's URL, as given. */
  get server(): string {
    return this.opts.server;
  }

  /**
   * The current record of a name, verified. `maxAgeMs` allows an answer from the cache;
   * `linearizable` asks the server to read its store rather than its cache.
   */
  async resolve(
    name: string,
    opts: { maxAgeMs?: number; linearizable?: boolean } = {},
  ): Promise<NameRecord> {
    parseName(name);
    const cached = this.cache.get(name);
    const now = this.clock.now();
    const age = cached ? now - cached.confirmedAt : -1;
    const fresh = opts.maxAgeMs !== undefined && age >= 0 && age <= opts.maxAgeMs;
    if (cached && fresh && !cached.record.deleted && cached.record.expiresAt > now)
      return cached.record;
    const query = [
      ...(this.knownRevision > 0 ? [`minRevision=${this.knownRevision}`] : []),
      ...(opts.linearizable ? ['linearizable=true'] : []),
    ].join('&');
    const path = `/v1/names/${encodeURIComponent(name)}${query ? `?${query}` : ''}`;
    const res = await this.http.json<LookupResult>('GET', path);
    const record = (await this.trust.accept(name, res.record, res.owner)).record;
    this.saw(res.revision);
    return record;
  }

  /** Signs the fields with this client's key at a new version and writes them. */
  async publish(fields: PublishFields): Promise<{ record: NameRecord; result: WriteResult }> {
    const key = this.requireKey();
    const parsed = parseName(fields.name);
    const kind =
      fields.kind ??
      (parsed.form === 'user' ? 'user' : parsed.form === 'bare' ? 'service' : 'device');
    const delegation =
      parsed.form === 'child'
        ? (fields.delegation ?? (await this.delegationFor(fields.name, key)))
        : undefined;
    const unsigned: UnsignedRecord = {
      name: fields.name,
      kind,
      key: key.publicKey,
      ...(delegation ? { delegation } : {}),
      addresses: fields.addresses ?? [],
      ...(fields.control ? { control: fields.control } : {}),
      relays: fields.relays ?? [],
      attributes: fields.attributes ?? {},
      version: 0,
      expiresAt: this.clock.now() + (fields.ttlMs ?? this.opts.ttlMs ?? 3600_000),
    };
    return this.write('PUT', unsigned);
  }

  /** Deletes a name with a signed tombstone (a new version that says "deleted"). */
  async remove(name: string): Promise<WriteResult> {
    const key = this.requireKey();
    const current = await this.resolve(name);
    const unsigned: UnsignedRecord = {
      name,
      kind: current.kind,
      key: key.publicKey,
      ...(current.delegation ? { delegation: await this.delegationFor(name, key) } : {}),
      addresses: [],
      relays: [],
      attributes: {},
      version: 0,
      expiresAt: this.clock.now() + (this.opts.ttlMs ?? 3600_000),
      deleted: true,
    };
    return (await this.write('DELETE', unsigned)).result;
  }

  async heartbeat(name: string): Promise<void> {
    this.lastBeat = Math.max(this.lastBeat + 1, this.clock.now());
    const body = signHeartbeat(name, this.lastBeat, this.requireKey());
    // With several servers, a device's heartbeats go to the one its name hashes to: its
    // presence is kept there (and published in batches for the others).
    if (this.http instanceof FailoverHttp)
      await this.http.jsonFor(name, 'POST', '/v1/heartbeat', body);
    else await this.http.json('POST', '/v1/heartbeat', body);
  }

  async listDevices(user: string): Promise<(DeviceState & { record: NameRecord })[]> {
    const res = await this.http.json<{ devices: DeviceState[] }>(
      'GET',
      `/v1/users/${encodeURIComponent(user)}/devices`,
    );
    for (const d of res.devices) d.record = (await this.trust.accept(d.name, d.record)).record;
    return res.devices;
  }

  watch(
    names: readonly string[],
    onChange: (change: NameChange) => void,
    opts: WatchOptions = {},
  ): NameWatch {
    for (const n of names) parseName(n);
    const told = (change: NameChange) => {
      this.saw(change.revision);
      onChange(change);
    };
    const w = new NameWatch(this.http, this.trust, () => this.clock.now(), names, told, opts);
    for (const old of this.watches) if (old.state === 'closed') this.watches.delete(old);
    this.watches.add(w);
    return w;
  }

  /**
   * After this host's address changed: closes idle kept-alive connections (silently dead on
   * the old address) and reopens watch streams now, resuming without a gap.
   */
  addressChanged(): void {
    this.dropIdleConnections();
    for (const w of this.watches) w.reconnect();
  }

  /** Closes idle kept-alive connections to the name server (see addressChanged). */
  dropIdleConnections(): void {
    this.http.dropIdle();
  }

  close(): void {
    for (const w of this.watches) w.close();
    this.watches.clear();
    this.http.close();
  }

  private async write(
    method: 'PUT' | 'DELETE',
    unsigned: UnsignedRecord,
  ): Promise<{ record: NameRecord; result: WriteResult }> {
    const key = this.requireKey();
    const path = `/v1/names/${encodeURIComponent(unsigned.name)}`;
    const floor = Math.max(
      this.published.get(unsigned.name) ?? 0,
      this.cache.get(unsigned.name)?.record.version ?? 0,
    );
    let version = Math.max(floor + 1, this.clock.now());
    for (let attempt = 0; ; attempt++) {
      const record = signRecord({ ...unsigned, version }, key);
      try {
        const result = await this.http
          .json<WriteResult>(method, path, record)
          .catch((err: unknown) => {
            if (method === 'PUT' && isRoamError(err, 'ROAM_NAMES_NOT_FOUND'))
              return this.http.json<WriteResult>('POST', '/v1/names', record);
            throw err;
          });
        this.published.set(unsigned.name, version);
        this.cache.offer(record, this.clock.now());
        this.saw(result.revision);
        return { record, result };
      } catch (err) {
        // Another writer (or this key before a restart) is ahead: go above it, once.
        const current = (err as { details?: { currentVersion?: unknown } }).details?.currentVersion;
        if (attempt > 0 || !isRoamError(err, 'ROAM_NAMES_STALE') || typeof current !== 'number')
          throw err;
        version = current + 1;
      }
    }
  }

  /**
   * A device key's certificate: signed now with userKey (or with `key` itself when it is the
   * user's key: a user may sign for its own devices, to delete a lost one), or else the one
   * already published for this key.
   */
  private async delegationFor(name: string, key: KeyPair): Promise<Delegation> {
    // A delegation for another key than the current one must be issued later than its.
    const cur = this.cache.get(name)?.record;
    const floor = (cur?.delegation?.issued ?? 0) + (cur && cur.key !== key.publicKey ? 1 : 0);
    const issued = Math.max(this.clock.now(), floor);
    if (this.opts.userKey) return makeDelegation(this.opts.userKey, name, key.publicKey, issued);
    const parsed = parseName(name);
    if (parsed.form === 'child' && this.cache.get(parsed.user)?.record.key === key.publicKey)
      return makeDelegation(key, name, key.publicKey, issued);
    // Only a missing record means there is no delegation to reuse: a name server or store
    // that cannot answer now must say so, not turn into "sign a delegation".
    const current = await this.resolve(name).catch((err: unknown) => {
      if (isRoamError(err, 'ROAM_NAMES_NOT_FOUND')) return undefined;
      throw err;
    });
    if (current?.delegation && current.key === key.publicKey) return current.delegation;
    throw namesError(
      'ROAM_NAMES_NEED_DELEGATION',
      `${name} has no delegation for this key; sign one with the user's key (userKey, or --user-key)`,
    );
  }

  private saw(revision: unknown): void {
    if (typeof revision === 'number' && Number.isSafeInteger(revision) && revision > 0)
      this.knownRevision = Math.max(this.knownRevision, revision);
  }

  private requireKey(): KeyPair {
    if (!this.opts.key)
      throw namesError(
        'ROAM_NAMES_CONFIG',
        'this client has no key; pass `key` (a key pair from keygen) to publish',
      );
    return this.opts.key;
  }
}
