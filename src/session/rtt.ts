/**
 * Round-trip time estimation and retransmission timeout after RFC 6298.
 *
 *   first sample R:  SRTT = R,  RTTVAR = R / 2
 *   later sample R': RTTVAR = (1 - β)·RTTVAR + β·|SRTT - R'|   (with the old SRTT)
 *                    SRTT   = (1 - α)·SRTT + α·R'              α = 1/8, β = 1/4
 *   RTO = clamp(SRTT + max(G, K·RTTVAR), minRto, maxRto)       K = 4
 *
 * Before any sample RTO is initialRtoMs (RFC 6298 §2.1: 1 s). `backoff()` doubles RTO up
 * to maxRtoMs when a timer expires (§5.5); the next sample computes it afresh. The caller
 * must sample only unambiguous round trips (Karn): roam pings carry unique ids, so every
 * matched pong is one. RFC 6298 asks for a 1 s minimum; roam defaults to 200 ms like Linux,
 * because a roam session runs over TCP flowpaths and a late RTO costs a probe, not a resend.
 */
import { RoamError } from '../errors.js';

export interface RttOptions {
  /** RTO before the first sample. Default 1000. */
  initialRtoMs?: number;
  /** Lower bound of RTO. Default 200. */
  minRtoMs?: number;
  /** Upper bound of RTO, also of backoff. Default 60000. */
  maxRtoMs?: number;
  /** Clock granularity G. Default 1. */
  granularityMs?: number;
}

export const defaultRttOptions: Readonly<Required<RttOptions>> = {
  initialRtoMs: 1000,
  minRtoMs: 200,
  maxRtoMs: 60_000,
  granularityMs: 1,
};

const ALPHA = 1 / 8;
const BETA = 1 / 4;
const K = 4;

/** Fill in defaults and check the options; throws ROAM_BAD_INPUT naming the bad one. */
export function verifyRttOptions(opts: RttOptions = {}): Required<RttOptions> {
  const o: Required<RttOptions> = {
    initialRtoMs: opts.initialRtoMs ?? defaultRttOptions.initialRtoMs,
    minRtoMs: opts.minRtoMs ?? defaultRttOptions.minRtoMs,
    maxRtoMs: opts.maxRtoMs ?? defaultRttOptions.maxRtoMs,
    granularityMs: opts.granularityMs ?? defaultRttOptions.granularityMs,
  };
  for (const [name, value] of Object.entries(o))
    if (!Number.isFinite(value) || value < 0)
      throw new RoamError('ROAM_BAD_INPUT', `${name} must be a finite number >= 0, got ${value}`);
  if (o.maxRtoMs <= 0) throw new RoamError('ROAM_BAD_INPUT', 'maxRtoMs must be above 0');
  if (o.minRtoMs > o.maxRtoMs)
    throw new RoamError(
      'ROAM_BAD_INPUT',
      `minRtoMs (${o.minRtoMs}) is above maxRtoMs (${o.maxRtoMs}); lower minRtoMs or raise maxRtoMs`,
    );
  if (o.initialRtoMs < o.minRtoMs || o.initialRtoMs > o.maxRtoMs)
    throw new RoamError(
      'ROAM_BAD_INPUT',
      `initialRtoMs (${o.initialRtoMs}) must lie in [minRtoMs, maxRtoMs] = ` +
        `[${o.minRtoMs}, ${o.maxRtoMs}]; set initialRtoMs as well`,
    );
  return o;
}

export class RttEstimator {
  readonly options: Readonly<Required<RttOptions>>;
  #srtt: number | undefined;
  #rttvar: number | undefined;
  #rto: number;
  #samples = 0;

  constructor(opts?: RttOptions) {
    this.options = verifyRttOptions(opts);
    this.#rto = this.options.initialRtoMs;
  }

  /** Feed one measured round trip in ms (0 is allowed: a coarse clock on a fast path). */
  sample(rttMs: number): void {
    if (!Number.isFinite(rttMs) || rttMs < 0)
      throw new RoamError('ROAM_BAD_INPUT', `an RTT sample must be a finite ms >= 0, got ${rttMs}`);
    if (this.#srtt === undefined || this.#rttvar === undefined) {
      this.#srtt = rttMs;
      this.#rttvar = rttMs / 2;
    } else {
      this.#rttvar = (1 - BETA) * this.#rttvar + BETA * Math.abs(this.#srtt - rttMs);
      this.#srtt = (1 - ALPHA) * this.#srtt + ALPHA * rttMs;
    }
    const { granularityMs, minRtoMs, maxRtoMs } = this.options;
    const rto = this.#srtt + Math.max(granularityMs, K * this.#rttvar);
    this.#rto = Math.min(maxRtoMs, Math.max(minRtoMs, rto));
    this.#samples++;
  }

  /** Smoothed RTT in ms; undefined before the first sample. */
  get srtt(): number | undefined {
    return this.#srtt;
  }

  /** RTT variation in ms; undefined before the first sample. */
  get rttvar(): number | undefined {
    return this.#rttvar;
  }

  /** Current retransmission timeout in ms, including any backoff. */
  get rto(): number {
    return this.#rto;
  }

  /** A timer expired without an answer: double RTO (up to maxRtoMs) until the next sample. */
  backoff(): void {
    this.#rto = Math.min(this.options.maxRtoMs, this.#rto * 2);
  }

  /** Number of samples taken. */
  get samples(): number {
    return this.#samples;
  }
}
