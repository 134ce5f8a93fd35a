import { performance } from 'node:perf_hooks';

/**
 * Time as the engine sees it. Every timer of the HTTP engine goes through here, so tests
 * drive timeouts with a manual clock instead of sleeping.
 */
export interface Clock {
  /** Milliseconds on a monotonic scale. */
  now(): number;
  /** Run `fn` once after `ms`; the returned function cancels it (idempotent). */
  after(ms: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};
