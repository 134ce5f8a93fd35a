/**
 * Delivery rate of one flowpath, from the peer's reports of bytes received on it: the
 * largest rate measured over any interval of at least `spanMs` within the last `windowMs`
 * (a windowed maximum, as BBR keeps its bandwidth estimate: a path that was briefly idle or
 * application-limited keeps what it showed it can do). Pure: time is passed in, in ms.
 *
 * Reports come in bursts: after a TCP loss the receiver gets nothing for an RTT or two, then
 * everything that arrived meanwhile at once (and a busy receiver reads late, then a lot). A
 * maximum over short intervals takes such a burst for the rate; the sender passes a longer
 * span per report (two RTTs of the path), so an interval covers the wait as well as the
 * burst.
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

  /**
   * The delivered total rose to `total` bytes at `now`; the rate is measured over at least
   * max(spanMs option, `spanMs`) ms.
   */
  onDelivered(total: number, now: number, spanMs = 0): void {
    if (total <= this.#total && this.#points.length > 0) return;
    this.#total = total;
    const span = Math.max(this.spanMs, spanMs);
    // Points closer together than span / 32 are not kept: the bounded list below still
    // reaches back over a whole span however often the peer reports.
    const last = this.#points[this.#points.length - 1];
    if (last === undefined || now - last.t >= span / 32)
      this.#points.push({ t: now, bytes: total });
    // Keep the points of the last window, and one older to measure across.
    while (this.#points.length > 2 && (this.#points[1] as Point).t <= now - this.windowMs)
      this.#points.shift();
    // The newest point at least span old gives the shortest valid interval.
    let from: Point | undefined;
    for (let i = this.#points.length - 1; i >= 0; i--) {
      const p = this.#points[i] as Point;
      if (now - p.t >= span) {
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
