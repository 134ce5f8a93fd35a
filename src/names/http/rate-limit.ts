import type { NamesClock } from '../clock.js';
import { namesError } from '../codes.js';

export interface RateSpec {
  /** Tokens added per second. */
  perSecond: number;
  /** Bucket size: how many requests may come at once after a quiet period. */
  burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Token buckets, one per key (a source address, or a signing key). Time comes from the
 * clock, so tests drain and refill buckets without sleeping. The table is bounded: past
 * `maxKeys` the least recently used bucket is forgotten (it would refill to full anyway
 * unless it was in use, so an attacker with many addresses can only make limits laxer for
 * the keys it evicts, never stricter for anyone else).
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

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
    const b = this.buckets.get(key) ?? { tokens: this.spec.burst, at: now };
    const elapsed = Math.max(0, now - b.at);
    b.tokens = Math.min(this.spec.burst, b.tokens + (elapsed * this.spec.perSecond) / 1000);
    b.at = now;
    this.buckets.delete(key);
    this.buckets.set(key, b);
    this.evict();
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return ((1 - b.tokens) * 1000) / this.spec.perSecond;
  }

  get size(): number {
    return this.buckets.size;
  }

  private evict(): void {
    while (this.buckets.size > this.maxKeys) {
      const oldest = this.buckets.keys().next();
      if (oldest.done) return;
      this.buckets.delete(oldest.value);
    }
  }
}
