import type { Clock } from './clock.js';

/**
 * A clock that moves only when told to: timeouts, backoff, expiry and rate limits are tested
 * without sleeping. Due timers fire in order of their time as `advance` passes it.
 */
export class ManualClock implements Clock {
  #now: number;
  #timers: { at: number; fn: () => void; live: boolean }[] = [];
  #armWaiters: { ms: number; resolve: () => void }[] = [];

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  /** Jumps to `t` without firing timers (the time the next event happens at). */
  setNow(t: number): void {
    this.#now = t;
  }

  after(ms: number, fn: () => void): () => void {
    const timer = { at: this.#now + ms, fn, live: true };
    this.#timers.push(timer);
    for (const w of this.#armWaiters.filter((x) => x.ms === ms)) w.resolve();
    this.#armWaiters = this.#armWaiters.filter((x) => x.ms !== ms);
    return () => {
      timer.live = false;
    };
  }

  /** Resolves when the code under test arms a timer of exactly `ms`. */
  whenArmed(ms: number): Promise<void> {
    return new Promise((resolve) => this.#armWaiters.push({ ms, resolve }));
  }

  /** The armed timers, as ms from now, soonest first. */
  get pending(): number[] {
    return this.#timers
      .filter((t) => t.live)
      .map((t) => t.at - this.#now)
      .sort((a, b) => a - b);
  }

  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      const due = this.#timers
        .filter((t) => t.live && t.at <= target)
        .sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      due.live = false;
      this.#now = due.at;
      due.fn();
    }
    this.#now = target;
    this.#timers = this.#timers.filter((t) => t.live);
  }
}
