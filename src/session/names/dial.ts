import type { Socket } from 'node:net';
import { isRoamError, RoamError } from '../../errors.js';
import type { NameRecord } from '../../names/record.js';
import type { Endpoint } from '../options.js';
import { endpointsOf, listsEndpoint } from './endpoints.js';
import type { ConnectTo, NameLocator } from './locator.js';

/** Socket errors that mean "nobody there now": the host may have moved since the lookup. */
const MOVED = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  'ETIMEDOUT',
  'ECONNRESET',
  'ECONNABORTED',
]);

function mayHaveMoved(err: unknown): boolean {
  if (isRoamError(err, 'ROAM_CONNECT_TIMEOUT')) return true;
  if (!isRoamError(err, 'ROAM_CONNECT_FAILED')) return false;
  const cause = (err as Error).cause as NodeJS.ErrnoException | undefined;
  return cause?.code !== undefined && MOVED.has(cause.code);
}

export interface DialOptions {
  /** The whole budget: lookups, attempts, re-resolutions (connectTimeoutMs). */
  timeoutMs: number;
  /** A new attempt starts this often while others hang (ρ, retryIntervalMs). */
  intervalMs: number;
  /** Attempts in flight at once. */
  maxParallel?: number;
}

/**
 * The first connection to a named server, with connect-time mobility (msocket §II): the
 * server may move between our lookup and our SYN. Attempts go to the record's addresses best
 * first, a new one every `intervalMs` while earlier ones hang (happy-eyeballs style); when an
 * attempt finds nobody there (refused, unreachable, timed out), the name is looked up again
 * bypassing the cache, and a newer version (from that lookup or pushed by the watch) aborts
 * attempts to addresses it no longer lists and starts over at its best address. All within
 * `timeoutMs`, after which ROAM_CONNECT_TIMEOUT says what was tried.
 *
 *   resolving ──record──▶ dialing ──socket──▶ done
 *       │                  │  ▲ newer record: abort stale attempts, restart the queue
 *       └─lookup error─────┴──┴──deadline / fatal error──▶ failed
 */
export class NameDial {
  private record!: NameRecord;
  private queue: Endpoint[] = [];
  private readonly attempts = new Map<AbortController, Endpoint>();
  private readonly failures: string[] = [];
  private tickTimer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private lastLookupError: Error | undefined;
  private lookups = 0;
  /** How long the first lookup took: the scale of a round trip to the name server. */
  private lookupMs = 0;
  private staleTimer: NodeJS.Timeout | undefined;
  private deadline = 0;
  private state: 'resolving' | 'dialing' | 'done' = 'resolving';
  private settle!: {
    resolve: (r: { socket: Socket; endpoint: Endpoint }) => void;
    reject: (err: Error) => void;
  };
  private readonly onRecord = (record: NameRecord) => this.newer(record);
  /** The session ended while connecting: stop every attempt and timer. */
  private readonly onClosed = () =>
    this.fail(
      new RoamError(
        'ROAM_SESSION_CLOSED',
        `connecting to ${this.locator.name} was given up: the session was closed`,
      ),
    );

  constructor(
    private readonly locator: NameLocator,
    private readonly connectTo: ConnectTo,
    private readonly opts: DialOptions,
  ) {}

  async run(): Promise<{ socket: Socket; endpoint: Endpoint }> {
    this.deadline = performance.now() + this.opts.timeoutMs;
    const result = new Promise<{ socket: Socket; endpoint: Endpoint }>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    this.deadlineTimer = setTimeout(() => this.timeout(), this.opts.timeoutMs);
    if (this.locator.isClosed) {
      this.onClosed();
      return result;
    }
    this.locator.startWatch();
    this.locator.on('record', this.onRecord);
    this.locator.once('closed', this.onClosed);
    // The first lookup decides whether the name exists: its errors are the caller's
    // (unknown name, name server unreachable, untrusted record), not a reason to retry.
    this.lookups++;
    const asked = performance.now();
    this.locator.lookup().then(
      (record) => {
        if (this.state !== 'resolving') return;
        this.lookupMs = performance.now() - asked;
        this.state = 'dialing';
        this.record = record;
        this.queue = endpointsOf(record);
        this.tick();
      },
      (err: Error) => this.fail(err),
    );
    return result;
  }

  private tick(): void {
    if (this.state !== 'dialing') return;
    clearTimeout(this.tickTimer);
    this.tickTimer = setTimeout(() => this.tick(), this.opts.intervalMs);
    if (this.queue.length === 0) {
      // A whole round went out (or the record has no address): ask again, and go round again.
      this.refresh();
      this.queue = endpointsOf(this.record);
    }
    const to = this.queue.shift();
    if (to && this.attempts.size < (this.opts.maxParallel ?? 4)) this.launch(to);
  }

  private launch(to: Endpoint): void {
    const ac = new AbortController();
    this.attempts.set(ac, to);
    const remaining = Math.max(1, this.deadline - performance.now());
    // A SYN to an address the server left often meets silence, not a refusal: if the attempt
    // has no answer after two lookups' time, ask whether the record is still current.
    clearTimeout(this.staleTimer);
    const check = Math.min(this.opts.intervalMs, Math.max(100, 2 * this.lookupMs));
    this.staleTimer = setTimeout(() => this.refresh(), check);
    this.connectTo(to, remaining, ac.signal).then(
      (socket) => {
        this.attempts.delete(ac);
        if (this.state !== 'dialing' || ac.signal.aborted) return void socket.destroy();
        this.finish({ socket, endpoint: to });
      },
      (err: Error) => {
        this.attempts.delete(ac);
        if (this.state !== 'dialing' || ac.signal.aborted) return;
        this.failures.push(`${to.host}:${to.port} ${describe(err)}`);
        if (!mayHaveMoved(err)) return this.fail(err);
        // Nobody there: perhaps the server moved after our lookup. Ask again now, and try
        // the record's next address at once if there is one left this round.
        this.refresh();
        if (this.queue.length > 0) this.tick();
      },
    );
  }

  /** A fresh lookup, one at a time; a newer version comes back through `newer`. */
  private refresh(): void {
    if (this.refreshing || this.state !== 'dialing') return;
    this.lookups++;
    this.refreshing = this.locator
      .lookup()
      .then(() => undefined)
      .catch((err: Error) => {
        this.lastLookupError = err;
      })
      .finally(() => {
        this.refreshing = undefined;
      });
  }

  private newer(record: NameRecord): void {
    if (this.state !== 'dialing' || record.version <= this.record.version) return;
    this.record = record;
    for (const [ac, to] of this.attempts)
      if (!listsEndpoint(record, to.host, to.port)) {
        this.attempts.delete(ac);
        ac.abort();
      }
    this.queue = endpointsOf(record);
    this.tick();
  }

  private timeout(): void {
    if (this.state === 'resolving') {
      return this.fail(
        new RoamError(
          'ROAM_CONNECT_TIMEOUT',
          `no answer about ${this.locator.name} from the name server at ${this.locator.client.server} within ${this.opts.timeoutMs} ms`,
        ),
      );
    }
    const empty = this.state === 'dialing' && this.record.addresses.length === 0;
    const tried = this.failures.length
      ? this.failures.slice(-6).join('; ')
      : empty
        ? 'its record lists no address (the host is not reachable now)'
        : 'no attempt answered';
    const lookup = this.lastLookupError ? `; last lookup: ${this.lastLookupError.message}` : '';
    const version = this.state === 'dialing' ? ` (record version ${this.record.version})` : '';
    this.fail(
      new RoamError(
        'ROAM_CONNECT_TIMEOUT',
        `no connection to ${this.locator.name}${version} within ${this.opts.timeoutMs} ms after ${this.lookups} lookups: ${tried}${lookup}`,
      ),
    );
  }

  private finish(result: { socket: Socket; endpoint: Endpoint }): void {
    this.stop();
    this.settle.resolve(result);
  }

  private fail(err: Error): void {
    if (this.state === 'done') return;
    this.stop();
    this.settle.reject(err);
  }

  private stop(): void {
    this.state = 'done';
    clearTimeout(this.tickTimer);
    clearTimeout(this.deadlineTimer);
    clearTimeout(this.staleTimer);
    this.locator.off('record', this.onRecord);
    this.locator.off('closed', this.onClosed);
    for (const ac of this.attempts.keys()) ac.abort();
    this.attempts.clear();
  }
}

function describe(err: Error): string {
  const cause = err.cause as NodeJS.ErrnoException | undefined;
  return cause?.code ?? (isRoamError(err) ? err.code : err.message);
}
