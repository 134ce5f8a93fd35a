import {
  circuitBreaker,
  ConsecutiveBreaker,
  handleWhen,
  isBrokenCircuitError,
  noop,
} from 'cockatiel';
import { Etcd3, isRecoverableError } from 'etcd3';
import { RoamError } from '../../../errors.js';
import { namesError } from '../../codes.js';

export interface EtcdConnectionOptions {
  /** Client URLs of the cluster's members, e.g. http://127.0.0.1:2379. */
  endpoints: readonly string[];
  /** Bound on one store operation, retries included (default 3000 ms). */
  timeoutMs?: number;
  /**
   * How long a member that failed twice in a row is skipped (default a third of the timeout,
   * at most 1000 ms, so an operation always gets to try it again).
   */
  memberPauseMs?: number;
}

/** What one attempt of an operation gets: its own deadline, and whether an earlier one failed. */
export interface Attempt {
  deadline: number;
  /** True once an earlier attempt failed in a way that may have applied it anyway. */
  ambiguous: boolean;
}

/**
 * The etcd client behind an EtcdStore, with bounded time: every call has a deadline, a call
 * that fails on a transient error (member down, leader changing, deadline) is retried on
 * another member until the operation's time is up, and then the caller gets
 * ROAM_NAMES_STORE_UNAVAILABLE instead of a hang. The retries are ours, not the client
 * library's, so a write knows when an earlier attempt may have landed (see `Attempt`).
 */
export class EtcdConnection {
  readonly client: Etcd3;
  readonly endpoints: readonly string[];
  readonly timeoutMs: number;
  private closed = false;
  private readonly pauses = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();

  constructor(opts: EtcdConnectionOptions) {
    this.endpoints = checkEndpoints(opts.endpoints);
    this.timeoutMs = opts.timeoutMs ?? 3000;
    if (!(this.timeoutMs >= 100))
      throw namesError('ROAM_NAMES_CONFIG', `the etcd timeout must be at least 100 ms`);
    const pause = opts.memberPauseMs ?? Math.min(1000, Math.floor(this.timeoutMs / 3));
    this.client = new Etcd3({
      hosts: [...this.endpoints],
      dialTimeout: this.timeoutMs,
      faultHandling: {
        global: noop,
        // A member that failed twice in a row is skipped for a while: calls go to the others.
        host: () =>
          circuitBreaker(handleWhen(isRecoverableError), {
            halfOpenAfter: pause,
            breaker: new ConsecutiveBreaker(2),
          }),
      },
      grpcOptions: {
        // Notices a member that vanished without closing its connections (etcd accepts
        // pings every 5 s or slower).
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5000,
      },
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Runs `op` until it succeeds, fails for good, or the operation's time is up. */
  async call<T>(what: string, op: (attempt: Attempt) => Promise<T>): Promise<T> {
    this.checkOpen();
    const end = Date.now() + this.timeoutMs;
    const perAttempt = Math.max(250, Math.floor(this.timeoutMs / 3));
    let ambiguous = false;
    let last: unknown;
    for (let attempt = 0; ; attempt++) {
      const now = Date.now();
      if (attempt > 0 && now >= end) break;
      try {
        return await op({ deadline: Math.min(end, now + perAttempt), ambiguous });
      } catch (err) {
        this.checkOpen();
        if (err instanceof RoamError) throw err;
        if (!isTransient(err)) throw this.failure(what, err);
        // A request the breaker stopped never left; anything else may have reached etcd (and
        // says more about why etcd is unreachable than the breaker does).
        if (!isBrokenCircuitError(err)) {
          ambiguous = true;
          last = err;
        } else last ??= err;
      }
      const pause = Math.min(50 * 2 ** attempt, 500, end - Date.now());
      if (pause > 0) await this.pause(pause);
      this.checkOpen();
    }
    throw namesError(
      'ROAM_NAMES_STORE_UNAVAILABLE',
      `the name store (etcd at ${this.endpoints.join(', ')}) did not answer within ${this.timeoutMs} ms (${what}): ${(last as Error | undefined)?.message ?? 'no answer'}; try again`,
      { cause: last, details: { retryAfterMs: 1000 } },
    );
  }

  failure(what: string, err: unknown): RoamError {
    return namesError(
      'ROAM_NAMES_DB',
      `name store (etcd) ${what} failed: ${(err as Error).message}`,
      { cause: err },
    );
  }

  checkOpen(): void {
    if (this.closed) throw namesError('ROAM_NAMES_DB', 'the name store is closed');
  }

  /** Waits `ms` unless the connection closes first (then the wait ends at once). */
  pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.pauses.delete(entry);
          resolve();
        }, ms),
        resolve,
      };
      this.pauses.add(entry);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pauses) {
      clearTimeout(p.timer);
      p.resolve();
    }
    this.pauses.clear();
    this.client.close();
  }
}

/** Errors worth another attempt: the member or the cluster may be back in a moment. */
export function isTransient(err: unknown): boolean {
  return err instanceof Error && (isRecoverableError(err) || isBrokenCircuitError(err));
}

function checkEndpoints(endpoints: readonly string[]): string[] {
  if (endpoints.length === 0)
    throw namesError('ROAM_NAMES_CONFIG', 'give at least one etcd endpoint (http://HOST:PORT)');
  return endpoints.map((e) => {
    let url: URL;
    try {
      url = new URL(e);
    } catch {
      throw namesError(
        'ROAM_NAMES_CONFIG',
        `etcd endpoint "${e}" is not a URL like http://127.0.0.1:2379`,
      );
    }
    if (url.protocol !== 'http:' || !url.port || url.pathname !== '/' || url.search)
      throw namesError(
        'ROAM_NAMES_CONFIG',
        `etcd endpoint "${e}" must be http://HOST:PORT (TLS endpoints are not supported yet)`,
      );
    return `http://${url.host}`;
  });
}
