/**
 * Time as the name service sees it: wall-clock milliseconds since the epoch, because record
 * expiries are absolute times that every party must read alike. Tests pass a manual clock
 * and move it, so expiry, presence and rate limits are tested without sleeping.
 */
export interface NamesClock {
  now(): number;
}

export const systemClock: NamesClock = { now: () => Date.now() };

/** A clock that moves only when told to. */
export class ManualClock implements NamesClock {
  constructor(private t = Date.UTC(2030, 0, 1)) {}

  now(): number {
    return this.t;
  }

  advance(ms: number): void {
    this.t += ms;
  }
}
