/**
 * Whether the server is under pressure, which is when new sessions must show a cookie
 * (mode 'auto'). Pure: time is passed in.
 *
 *   calm ── table share ≥ pressureTableShare, or HELLOs/s ≥ pressureHellosPerSecond ──▶ pressed
 *   pressed ── neither for pressureCalmMs ──▶ calm
 *
 * HELLOs are counted in one-second buckets; the rate is the larger of the last full second
 * and the current one, so a burst turns pressure on within the second it starts.
 */

export type PressureState = 'calm' | 'pressed';

export interface PressureLimits {
  pressureTableShare: number;
  pressureHellosPerSecond: number;
  pressureCalmMs: number;
}

export interface PressureChange {
  state: PressureState;
  reason: string;
}

export class Pressure {
  state: PressureState = 'calm';
  private bucketStart = 0;
  private current = 0;
  private previous = 0;
  private lastCause = -Infinity;

  constructor(private readonly limits: PressureLimits) {}

  /** A HELLO of a new session arrived. */
  noteHello(now: number): void {
    this.roll(now);
    this.current++;
  }

  /** HELLOs of new sessions per second, as pressure sees it. */
  rate(now: number): number {
    this.roll(now);
    return Math.max(this.previous, this.current);
  }

  /** Re-evaluates; returns the change if the state changed. */
  update(now: number, tableShare: number): PressureChange | undefined {
    const rate = this.rate(now);
    const cause =
      tableShare >= this.limits.pressureTableShare
        ? `the session table is ${Math.round(tableShare * 100)}% full`
        : rate >= this.limits.pressureHellosPerSecond
          ? `${rate} new-session HELLOs in a second`
          : undefined;
    if (cause !== undefined) this.lastCause = now;
    return this.next(now, cause);
  }

  /** The one transition function. */
  private next(now: number, cause: string | undefined): PressureChange | undefined {
    switch (this.state) {
      case 'calm':
        if (cause === undefined) return undefined;
        this.state = 'pressed';
        return { state: 'pressed', reason: cause };
      case 'pressed':
        if (now - this.lastCause < this.limits.pressureCalmMs) return undefined;
        this.state = 'calm';
        return { state: 'calm', reason: `no pressure for ${this.limits.pressureCalmMs} ms` };
      default: {
        const never: never = this.state;
        return never;
      }
    }
  }

  private roll(now: number): void {
    const elapsed = now - this.bucketStart;
    if (elapsed < 1000) return;
    this.previous = elapsed < 2000 ? this.current : 0;
    this.current = 0;
    this.bucketStart = now - (elapsed % 1000);
  }
}
