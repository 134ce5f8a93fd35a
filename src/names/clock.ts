/**
 * Time as the name service sees it: wall-clock milliseconds since the epoch, because record
 * expiries are absolute times that every party must read alike. It is the package's one
 * Clock (src/clock); tests pass a ManualClock and move it, so expiry, presence and rate
 * limits are tested without sleeping.
 */
import type { Clock } from '../clock/clock.js';

export type NamesClock = Pick<Clock, 'now'>;
export { wallClock as systemClock } from '../clock/clock.js';
import { ManualClock as Manual } from '../clock/manual-clock.js';

/** The package's ManualClock, starting at a wall-clock date (records carry absolute times). */
export class ManualClock extends Manual {
  constructor(start = Date.UTC(2030, 0, 1)) {
    super(start);
  }
}
