import { performance } from 'node:perf_hooks';

/**
 * Time as roam's components see it: the session, gateway, mobility manager and name service
 * take a Clock, so tests drive every timeout with a ManualClock instead of sleeping.
 */
export interface Clock {
  /** Milliseconds: monotonic for systemClock, since the epoch for wallClock. */
  now(): number;
  /** Runs `fn` once after `ms`; the returned function cancels it (idempotent). */
  after(ms: number, fn: () => void): () => void;
}

function after(ms: number, fn: () => void): () => void {
  const timer = setTimeout(fn, ms);
  // A pending retry or timeout never keeps the process alive on its own.
  timer.unref();
  return () => clearTimeout(timer);
}

/** Monotonic time, for durations and timeouts. */
export const systemClock: Clock = { now: () => performance.now(), after };

/**
 * Wall-clock time: for what other parties must read alike (name records' expiry, presence
 * heartbeats), not for measuring durations.
 */
export const wallClock: Clock = { now: () => Date.now(), after };
