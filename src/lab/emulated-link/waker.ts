/**
 * One re-armable wake-up per direction. Node's setTimeout fires up to ~1 ms early or late
 * against performance.now() (it counts from the loop's cached, millisecond-truncated time),
 * which would blur a 20 ms delay by a few percent per hop. A precise wake therefore sleeps
 * with setTimeout for the whole milliseconds and spins the last sub-millisecond on
 * setImmediate; an imprecise one (rate pacing, which keeps its own virtual clock and so
 * never accumulates lateness) only uses setTimeout.
 */
export class Waker {
  readonly #fire: () => void;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  #at = Number.POSITIVE_INFINITY;
  #precise = false;

  constructor(fire: () => void, now: () => number) {
    this.#fire = fire;
    this.#now = now;
  }

  /** Call fire() at time `at` (same clock as now()); replaces any earlier arming. */
  arm(at: number, precise: boolean): void {
    if (at === this.#at && precise === this.#precise && this.armed) return;
    this.cancel();
    this.#at = at;
    this.#precise = precise;
    this.#schedule();
  }

  cancel(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    this.#timer = undefined;
    this.#immediate = undefined;
    this.#at = Number.POSITIVE_INFINITY;
  }

  get armed(): boolean {
    return this.#timer !== undefined || this.#immediate !== undefined;
  }

  #schedule(): void {
    const wait = this.#at - this.#now();
    if (wait <= 0) {
      this.#immediate = setImmediate(() => this.#due());
    } else if (!this.#precise) {
      this.#timer = setTimeout(() => this.#due(), Math.max(1, Math.ceil(wait)));
    } else if (wait >= 1) {
      this.#timer = setTimeout(() => this.#recheck(), Math.floor(wait));
    } else {
      this.#immediate = setImmediate(() => this.#recheck());
    }
  }

  #recheck(): void {
    this.#timer = undefined;
    this.#immediate = undefined;
    if (this.#now() >= this.#at) this.#due();
    else this.#schedule();
  }

  #due(): void {
    this.#timer = undefined;
    this.#immediate = undefined;
    this.#at = Number.POSITIVE_INFINITY;
    this.#fire();
  }
}
