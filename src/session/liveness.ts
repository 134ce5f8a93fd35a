/**
 * Keepalive and failure detection for one flowpath: a pure state machine. The caller sends
 * the pings it is given, reports pongs and every other frame, and arms one timer for
 * `nextDeadline(now)`; time is always passed in, so tests never sleep. Use a monotonic
 * clock (performance.now()): time going backwards is an error.
 *
 *                first pong                rtt > slowFactor × best rtt
 *   probing ──────────────────▶ ok ─────────────────────────────▶ slow
 *      │                         │ ◀─────────────────────────────  │
 *      │                         │    a pong back under threshold   │
 *      │  no frame at all for deadAfterMs (from any live state)     │
 *      └────────────────────────▶ dead ◀───────────────────────────┘
 *                                (final)
 *
 * - probing: no round trip measured yet.
 * - ok: pongs come back in time.
 * - slow: the path still answers, but late: the latest RTT, or the age of a ping still
 *   unanswered, is above slowFactor × max(best RTT seen, slowFloorMs). The floor keeps a
 *   0–1 ms best RTT on a LAN (coarse clock) from calling a 4 ms pong slow.
 * - dead: nothing at all (no frame, no pong) for deadAfterMs. Data counts as life, so a
 *   busy path whose pongs queue behind data is slow, not dead. Dead is decided by time
 *   alone: a frame reported after the deadline passed does not revive the path.
 *
 * Pinging: one ping every intervalMs, even while earlier pings are unanswered (at most 16
 * are remembered). Our pings are also the peer's only sign of life from us when we send no
 * data: waiting for a pong stuck behind the peer's data would let the peer declare this
 * path dead on a long-RTT, busy path. When an outstanding ping outlives the RTO, the RTO
 * backs off (RFC 6298 §5.5).
 */
import { RoamError } from '../errors.js';
import { type RttOptions, RttEstimator } from './rtt.js';

export type PathHealth = 'probing' | 'ok' | 'slow' | 'dead';

export interface LivenessOptions {
  /** Send a ping every intervalMs. */
  intervalMs: number;
  /** No sign of life (any frame) for this long: dead. Must exceed intervalMs (3× is wise). */
  deadAfterMs: number;
  /** RTT above slowFactor × the best RTT seen: slow. Default 3. */
  slowFactor?: number;
  /** The best RTT used for "slow" is at least this. Default 10. */
  slowFloorMs?: number;
  /** Options of the RTT estimator (rtt). */
  rtt?: RttOptions;
}

export const defaultLivenessOptions = { slowFactor: 3, slowFloorMs: 10 } as const;

/** Pings remembered while unanswered; a pong for one forgotten before is a stray. */
const MAX_OUTSTANDING = 16;

export function verifyLivenessOptions(
  opts: LivenessOptions,
): Required<Omit<LivenessOptions, 'rtt'>> {
  const o = {
    intervalMs: opts.intervalMs,
    deadAfterMs: opts.deadAfterMs,
    slowFactor: opts.slowFactor ?? defaultLivenessOptions.slowFactor,
    slowFloorMs: opts.slowFloorMs ?? defaultLivenessOptions.slowFloorMs,
  };
  const bad = (msg: string) => new RoamError('ROAM_BAD_INPUT', msg);
  if (!(Number.isFinite(o.intervalMs) && o.intervalMs > 0))
    throw bad(`intervalMs must be a finite number above 0, got ${o.intervalMs}`);
  if (!(Number.isFinite(o.deadAfterMs) && o.deadAfterMs > o.intervalMs))
    throw bad(
      `deadAfterMs (${o.deadAfterMs}) must exceed intervalMs (${o.intervalMs}), or an idle ` +
        'path dies between pings; use 3 × intervalMs or more',
    );
  if (!(Number.isFinite(o.slowFactor) && o.slowFactor > 1))
    throw bad(`slowFactor must be a finite number above 1, got ${o.slowFactor}`);
  if (!(Number.isFinite(o.slowFloorMs) && o.slowFloorMs >= 0))
    throw bad(`slowFloorMs must be a finite number >= 0, got ${o.slowFloorMs}`);
  return o;
}

export class PathLiveness {
  readonly rtt: RttEstimator;
  readonly options: Readonly<Required<Omit<LivenessOptions, 'rtt'>>>;
  #state: PathHealth = 'probing';
  #now: number;
  #lastActivity: number;
  #lastPingAt: number | undefined;
  #nextId = 1;
  /** Unanswered pings, id → time sent, oldest first (Map keeps insertion order). */
  #outstanding = new Map<number, number>();
  #minRtt: number | undefined;
  #latestRtt: number | undefined;
  #strayPongs = 0;

  constructor(opts: LivenessOptions, now: number) {
    this.options = verifyLivenessOptions(opts);
    this.rtt = new RttEstimator(opts.rtt);
    if (!Number.isFinite(now)) throw new RoamError('ROAM_BAD_INPUT', `now must be finite`);
    this.#now = now;
    this.#lastActivity = now;
  }

  /** When the last sign of life (frame or pong) arrived. Starts at construction time. */
  get lastActivity(): number {
    return this.#lastActivity;
  }

  /** Pongs whose id was unknown, already answered or forgotten. */
  get strayPongs(): number {
    return this.#strayPongs;
  }

  /** The best RTT seen, in ms; undefined while probing. */
  get minRtt(): number | undefined {
    return this.#minRtt;
  }

  /** The latest RTT sample, in ms; undefined while probing. */
  get latestRtt(): number | undefined {
    return this.#latestRtt;
  }

  /** The ping to send now, if one is due; ids increase from 1. Never on a dead path. */
  nextPing(now: number): { id: number } | undefined {
    if (this.#advance(now) === 'dead' || now < this.#pingDueAt()) return undefined;
    const oldest = this.#outstanding.values().next();
    if (!oldest.done && now - oldest.value > this.rtt.rto) this.rtt.backoff(); // it outlived the RTO
    const id = this.#nextId++;
    this.#outstanding.set(id, now);
    if (this.#outstanding.size > MAX_OUTSTANDING) this.#forgetUpTo(this.#oldestId());
    this.#lastPingAt = now;
    return { id };
  }

  /**
   * A pong arrived; it counts as a sign of life. A known id gives an RTT sample and settles
   * it and every older ping (pongs come back in order on a flowpath); any other id only
   * counts in strayPongs.
   */
  onPong(id: number, now: number): void {
    if (this.#advance(now) === 'dead') return;
    this.#lastActivity = now;
    const sentAt = this.#outstanding.get(id);
    if (sentAt === undefined) {
      this.#strayPongs++;
      return;
    }
    this.#forgetUpTo(id);
    const rtt = now - sentAt;
    this.rtt.sample(rtt);
    this.#latestRtt = rtt;
    this.#minRtt = Math.min(this.#minRtt ?? rtt, rtt);
    this.#advance(now);
  }

  /** Any frame arrived on this flowpath: a sign of life. */
  onActivity(now: number): void {
    if (this.#advance(now) === 'dead') return;
    this.#lastActivity = now;
  }

  health(now: number): PathHealth {
    return this.#advance(now);
  }

  /**
   * Ms until the caller should next call nextPing and health, for its one timer; 0 means
   * now. Call it after nextPing and health, or a due ping makes it 0 again and again.
   * Infinity once dead: nothing more will happen (do not pass it to setTimeout).
   */
  nextDeadline(now: number): number {
    if (this.#advance(now) === 'dead') return Infinity;
    let at = Math.min(this.#pingDueAt(), this.#lastActivity + this.options.deadAfterMs);
    const oldest = this.#outstanding.values().next();
    // ok → slow once the oldest unanswered ping is older than the threshold: just after it.
    if (this.#state === 'ok' && !oldest.done)
      at = Math.min(at, Math.floor(oldest.value + this.#slowThreshold()) + 1);
    return Math.max(0, Math.ceil(at - now));
  }

  /** Bring the state up to `now`, applying as many transitions as are due. */
  #advance(now: number): PathHealth {
    if (!Number.isFinite(now) || now < this.#now)
      throw new RoamError(
        'ROAM_BAD_INPUT',
        `time went from ${this.#now} to ${now}; pass a monotonic clock such as performance.now()`,
      );
    this.#now = now;
    for (let next = this.#transition(now); next !== this.#state; next = this.#transition(now))
      this.#state = next;
    return this.#state;
  }

  /** Every transition of the diagram above, in one place. */
  #transition(now: number): PathHealth {
    const state = this.#state;
    const silent = now - this.#lastActivity >= this.options.deadAfterMs;
    switch (state) {
      case 'probing':
        if (silent) return 'dead';
        return this.#minRtt === undefined ? 'probing' : 'ok';
      case 'ok':
        if (silent) return 'dead';
        return this.#isSlow(now) ? 'slow' : 'ok';
      case 'slow':
        if (silent) return 'dead';
        return this.#isSlow(now) ? 'slow' : 'ok';
      case 'dead':
        return 'dead';
      default: {
        const unknown: never = state;
        throw new Error(`unknown path state ${String(unknown)}`);
      }
    }
  }

  #isSlow(now: number): boolean {
    const oldest = this.#outstanding.values().next();
    const waiting = oldest.done ? 0 : now - oldest.value;
    return Math.max(this.#latestRtt ?? 0, waiting) > this.#slowThreshold();
  }

  #slowThreshold(): number {
    const { slowFactor, slowFloorMs } = this.options;
    return slowFactor * Math.max(this.#minRtt ?? 0, slowFloorMs);
  }

  /** When the next ping is due. The newest ping is the last one sent, if any is unanswered. */
  #pingDueAt(): number {
    if (this.#lastPingAt === undefined) return -Infinity; // the first ping goes out at once
    return this.#lastPingAt + this.options.intervalMs;
  }

  #oldestId(): number {
    const first = this.#outstanding.keys().next();
    return first.done ? 0 : first.value;
  }

  /** Forget the outstanding pings with id <= `id`. */
  #forgetUpTo(id: number): void {
    for (const k of this.#outstanding.keys()) {
      if (k > id) break;
      this.#outstanding.delete(k);
    }
  }
}
