import type { NamesClock } from '../clock.js';
import { namesError } from '../codes.js';

export interface RateSpec {
  /** Tokens added per second. */
  perSecond: number;
  /** Bucket size: how many requests may come at once after a quiet period. */
  burst: number;
}

/** A bucket is also a link in the recency list (most recent first), so a take allocates nothing. */
interface Bucket {
  readonly key: string;
  tokens: number;
  at: number;
  newer: Bucket | undefined;
  older: Bucket | undefined;
}

/**
 * Token buckets, one per key (a source address, or a signing key). Time comes from the
 * clock, so tests drain and refill buckets without sleeping. The table is bounded: past
 * `maxKeys` the least recently used bucket is forgotten (it would refill to full anyway
 * unless it was in use, so an attacker with many addresses can only make limits laxer for
 * the keys it evicts, never stricter for anyone else). A take is O(1): one map read and a
 * move to the front of the recency list; only a new key allocates.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private newest: Bucket | undefined;
  private oldest: Bucket | undefined;

  constructor(
    readonly what: string,
    private readonly spec: RateSpec,
    private readonly clock: NamesClock,
    private readonly maxKeys = 100_000,
  ) {}

  /** Takes a token or throws ROAM_NAMES_RATE_LIMITED with the wait in `details.retryAfterMs`. */
  take(key: string): void {
    const wait = this.tryTake(key);
    if (wait > 0)
      throw namesError(
        'ROAM_NAMES_RATE_LIMITED',
        `too many requests ${this.what}; retry in ${Math.ceil(wait)} ms`,
        { details: { retryAfterMs: Math.ceil(wait) } },
      );
  }

  /** 0 when a token was taken; otherwise the milliseconds until one will be there. */
  tryTake(key: string): number {
    const now = this.clock.now();
    let b = this.buckets.get(key);
    if (b) {
      const elapsed = now > b.at ? now - b.at : 0;
      b.tokens = Math.min(this.spec.burst, b.tokens + (elapsed * this.spec.perSecond) / 1000);
      this.unlink(b);
    } else {
      b = { key, tokens: this.spec.burst, at: now, newer: undefined, older: undefined };
      this.buckets.set(key, b);
      if (this.buckets.size > this.maxKeys && this.oldest) {
        this.buckets.delete(this.oldest.key);
        this.unlink(this.oldest);
      }
    }
    b.at = now;
    this.pushNewest(b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return ((1 - b.tokens) * 1000) / this.spec.perSecond;
  }

  get size(): number {
    return this.buckets.size;
  }

  private unlink(b: Bucket): void {
    if (b.newer) b.newer.older = b.older;
    else this.newest = b.older;
    if (b.older) b.older.newer = b.newer;
    else this.oldest = b.newer;
    b.newer = b.older = undefined;
  }

  private pushNewest(b: Bucket): void {
    b.older = this.newest;
    if (this.newest) this.newest.newer = b;
    else this.oldest = b;
    this.newest = b;
  }
}
