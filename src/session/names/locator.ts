import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { NamesClient, type NamesClientOptions } from '../../names/client/client.js';
import { parseName } from '../../names/name.js';
import type { NameRecord } from '../../names/record.js';
import { RoamError } from '../../errors.js';
import { rootLogger } from '../../log/logger.js';
import type { Endpoint } from '../options.js';
import type { Session } from '../session.js';
import { endpointsOf, listsEndpoint } from './endpoints.js';
import { type Follow, followName } from './follow.js';
import { onLocalAddressChange } from './local-change.js';

/** The name service to use: a client (shared, left open), or a server URL or client options. */
export type NamesOption = NamesClient | string | NamesClientOptions;

export interface NameLocatorOptions {
  name: string;
  names: NamesOption;
  /** Follow the name with a watch while the session lives (push instead of polling). */
  watch?: boolean;
}

/**
 * Where a named server is, from the name service: the verified record, kept current by a
 * watch (shared per name and client) or by fresh lookups. The session's client driver asks
 * it for the endpoint of each reconnect attempt (`next`), and it tells the driver when a new
 * version says the server moved (`follow`). Emits 'record' with each newer version it adopts.
 */
export class NameLocator extends EventEmitter<{ record: [NameRecord]; closed: [] }> {
  readonly name: string;
  readonly client: NamesClient;
  private readonly ownsClient: boolean;
  private readonly watching: boolean;
  private record: NameRecord | undefined;
  private cursor = 0;
  private follower: Follow | undefined;
  private closed = false;

  constructor(opts: NameLocatorOptions) {
    super();
    parseName(opts.name);
    this.name = opts.name;
    this.ownsClient = !(opts.names instanceof NamesClient);
    this.client =
      opts.names instanceof NamesClient
        ? opts.names
        : new NamesClient(typeof opts.names === 'string' ? { server: opts.names } : opts.names);
    this.watching = opts.watch ?? true;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The newest record adopted so far. */
  get current(): NameRecord | undefined {
    return this.record;
  }

  /** Starts the watch (if enabled), so versions published from now on are pushed. */
  startWatch(): void {
    if (!this.watching || this.follower || this.closed) return;
    this.follower = followName(this.client, this.name, { onRecord: (r) => this.adopt(r) });
  }

  /** Asks the name server now, bypassing the cache's age; the answer is verified. */
  async lookup(): Promise<NameRecord> {
    const record = await this.client.resolve(this.name);
    this.adopt(record);
    return this.record ?? record;
  }

  /**
   * The endpoint for one reconnect attempt: from the pushed record while the watch is live,
   * else from a fresh lookup (or the last record if the name server cannot be reached).
   * Successive attempts go round the record's addresses, best first.
   */
  async next(): Promise<Endpoint> {
    if (!this.follower?.live) {
      await this.lookup().catch((err: Error) => {
        if (!this.record) throw err;
        rootLogger().debug({ name: this.name, err: err.message }, 'lookup failed; last record');
      });
    }
    const record = this.record as NameRecord;
    const endpoints = endpointsOf(record);
    const at = endpoints[this.cursor++ % Math.max(1, endpoints.length)];
    if (!at)
      throw new RoamError(
        'ROAM_CONNECT_FAILED',
        `${this.name} has no address in its record (version ${record.version}): the host is not reachable now`,
      );
    return at;
  }

  /**
   * Ties the locator to a session: a new version that no longer lists the session's server
   * endpoint, or one that arrives while the session is detached, calls `serverMoved` (the
   * driver reconnects at once); when the session loses its flowpath the watch is reopened
   * (its stream may have died with our old address). Ends with the session.
   */
  follow(session: Session, serverMoved: (record: NameRecord) => void): void {
    this.on('record', (record) => {
      if (session.state === 'detached') return serverMoved(record);
      if (session.state !== 'open') return;
      const host = session.remoteAddress;
      const port = session.remotePort;
      if (host !== undefined && port !== undefined && !listsEndpoint(record, host, port))
        serverMoved(record);
    });
    // Before the driver's own listener: its first attempt must not trust a dead stream.
    // Our address may have changed with the path, or may change while we are detached:
    // pooled connections to the name server and the watch stream would then be silently dead.
    const reopen = () => {
      this.client.dropIdleConnections();
      this.follower?.restart();
    };
    let stopPolling: (() => void) | undefined;
    const attached = () => {
      stopPolling?.();
      stopPolling = undefined;
    };
    session.prependListener('migrating', () => {
      reopen();
      stopPolling ??= onLocalAddressChange(reopen);
    });
    session.on('migrated', attached);
    session.once('close', () => {
      attached();
      this.close();
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.follower?.close();
    this.emit('closed');
    this.removeAllListeners();
    if (this.ownsClient) this.client.close();
  }

  private adopt(record: NameRecord): void {
    if (this.record && record.version <= this.record.version) return;
    this.record = record;
    this.cursor = 0;
    this.emit('record', record);
  }
}

/** Opens one TCP connection (with TLS if configured); the attempt is abandoned on abort. */
export type ConnectTo = (to: Endpoint, timeoutMs: number, signal: AbortSignal) => Promise<Socket>;

export type { Endpoint };
