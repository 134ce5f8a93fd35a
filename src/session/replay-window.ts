/**
 * Replay defence for attach counters. A client adding several flowpaths at once sends their
 * HELLOs with increasing counters on different connections, and they may arrive out of
 * order; so, as IPsec's anti-replay window, a counter is fresh if it was never accepted and
 * lies within `size` of the highest accepted one. Anything older is refused.
 */
export class ReplayWindow {
  readonly size: number;
  #highest: number;
  #seen = new Set<number>();

  constructor(size = 64, highest = 0) {
    this.size = size;
    this.#highest = highest;
  }

  get highest(): number {
    return this.#highest;
  }

  /** Accepts `counter` if fresh (and remembers it); false for a replayed or stale one. */
  accept(counter: number): boolean {
    if (counter <= this.#highest - this.size || counter === 0) return false;
    if (counter <= this.#highest) {
      if (this.#seen.has(counter)) return false;
      this.#seen.add(counter);
      return true;
    }
    this.#highest = counter;
    this.#seen.add(counter);
    for (const c of this.#seen) if (c <= this.#highest - this.size) this.#seen.delete(c);
    return true;
  }
}
