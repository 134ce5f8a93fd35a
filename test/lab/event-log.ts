/**
 * The events a process in the lab reported (JSON lines), and waiting for one: the handle
 * that tests and benchmarks keep on their workers. Waiting looks at events already seen
 * (from index `from` on) as well as future ones, so no event can slip between a check and
 * a wait.
 */
export class EventLog<E> {
  readonly events: E[] = [];
  private waiters: { match: (e: E) => boolean; resolve: (e: E) => void }[] = [];

  push(e: E): void {
    this.events.push(e);
    this.waiters = this.waiters.filter((w) => {
      if (!w.match(e)) return true;
      w.resolve(e);
      return false;
    });
  }

  /** Index to pass as `from` to see only what comes after now. */
  get mark(): number {
    return this.events.length;
  }

  /** The first event from index `from` on (past or future) that matches, or a timeout error. */
  waitFor(
    match: (e: E) => boolean,
    { from = 0, timeoutMs = 15_000, what = 'event' } = {},
  ): Promise<E> {
    const seen = this.events.slice(from).find(match);
    if (seen) return Promise.resolve(seen);
    const ok = (e: E) => this.events.indexOf(e) >= from && match(e);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.match !== ok);
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(this.events.slice(-5))}`,
          ),
        );
      }, timeoutMs);
      this.waiters.push({
        match: ok,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
    });
  }
}
