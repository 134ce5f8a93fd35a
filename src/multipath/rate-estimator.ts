/**
 * Delivery rate of one flowpath, from the peer's reports of bytes received on it: the
 * largest rate measured over any interval of at least `spanMs` within the last `windowMs`
 * (a windowed maximum, as BBR keeps its bandwidth estimate: a path that was briefly idle or
 * application-limited keeps what it showed it can do). Pure: time is passed in, in ms.
 */
export interface RateOptions {
  /** How long a measured rate counts. Default 1000. */
  windowMs?: number;
  /** Shortest interval a rate is measured over. Default 20. */
  spanMs?: number;
}

interface Point {
  t: number;
  bytes: number;
}

export class RateEstimator {
  readonly windowMs: number;
  readonly spanMs: number;
  #points: Point[] = [];
  /** Monotonic deque of (time, rate) samples: rates decrease from front to back. */
  #max: { t: number; rate: number }[] = [];
  #last: number | undefined;
  #total = 0;

  constructor(opts: RateOptions = {}) {
    this.windowMs = opts.windowMs ?? 1000;
    this.spanMs = opts.spanMs ?? 20;
  }

  /** Bytes per ms, or undefined before the first measurement. */
  rate(now: number): number | undefined {
    while (this.#max.length > 1 && (this.#max[0] as { t: number }).t < now - this.windowMs)
      this.#max.shift();
    return this.#max[0]?.rate ?? this.#last;
  }

  /** The delivered total rose to `total` bytes at `now`. */
  onDelivered(total: number, now: number): void {
    if (total <= this.#total && this.#points.length > 0) return;
    this.#total = total;
    this.#points.push({ t: now, bytes: total });
    // Keep the points of the last window, and one older to measure across.
    while (this.#points.length > 2 && (this.#points[1] as Point).t <= now - this.windowMs)
      this.#points.shift();
    // The newest point at least spanMs old gives the shortest valid interval.
    let from: Point | undefined;
    for (let i = this.#points.length - 2; i >= 0; i--) {
      const p = this.#points[i] as Point;
      if (now - p.t >= this.spanMs) {
        from = p;
        break;
      }
    }
    if (from === undefined) return;
    const rate = (total - from.bytes) / (now - from.t);
    this.#last = rate;
    while (
      this.#max.length > 0 &&
      (this.#max[this.#max.length - 1] as { rate: number }).rate <= rate
    )
      this.#max.pop();
    this.#max.push({ t: now, rate });
    // Points older than needed for the next span go, except one.
    while (this.#points.length > 64) this.#points.shift();
  }
}
