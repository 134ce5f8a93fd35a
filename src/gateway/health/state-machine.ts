/**
 * One uplink's health, as an explicit state machine. Pure: time is passed in.
 *
 *           answer            silence ≥ suspectMs        silence ≥ stallMs
 *   ┌────▶ up ───────────────▶ suspect ─────────────────▶ down ◀──── link/address gone
 *   │       ▲  answer (transient) │                        │         (from any state)
 *   │       └─────────────────────┘                        │ answer to a probe sent after
 *   │                                                      ▼ the failure, or link back
 *   └──────────── recoverProbes answers in a row ──── recovering ─ silence ≥ stallMs ─▶ down
 *
 * "Silence" is the time since the newest answered probe was SENT, or since the round trip
 * that bytes arriving through the uplink complete began (`delivered`: the arrival minus the
 * path's base round trip; a flow's data is clocked by the acknowledgments it answers),
 * whichever is later: a stall that starts at t0 leaves every probe sent after t0 unanswered
 * and stops every flow, so it is declared by t0 + stallMs.
 * Traffic still arriving is proof that the path works when its probes' answers are merely
 * late: on a loaded uplink they queue behind that traffic (a congested cellular link's
 * buffers hold seconds), and probes alone would misjudge a busy uplink as dead.
 * suspect is the paper's transient trouble (nothing moves); down is a non-transient
 * failure (Table I): new flows avoid the uplink and its live flows are migrated or reset.
 */
export const UPLINK_STATES = ['up', 'suspect', 'down', 'recovering'] as const;
export type UplinkState = (typeof UPLINK_STATES)[number];

export type HealthEvent =
  | { readonly kind: 'answer'; readonly sentAt: number; readonly now: number }
  | { readonly kind: 'tick'; readonly now: number }
  /** Bytes from beyond the uplink (an origin's data) arrived, answering a round trip begun at sentAt. */
  | { readonly kind: 'delivered'; readonly sentAt: number; readonly now: number }
  | { readonly kind: 'link-down'; readonly now: number; readonly why: string }
  | { readonly kind: 'link-up'; readonly now: number };

export interface Transition {
  readonly from: UplinkState;
  readonly to: UplinkState;
  readonly at: number;
  readonly reason: string;
}

export interface HealthThresholds {
  readonly stallMs: number;
  readonly suspectMs: number;
  readonly recoverProbes: number;
}

export interface HealthCounters {
  /** Episodes of suspect that ended with the uplink answering again (transient trouble). */
  readonly transients: number;
  /** Entries into down (non-transient failures). */
  readonly failures: number;
  /** Duration of the last failure that ended (down → up), ms. */
  readonly lastFailureMs: number | null;
}

export const isHealthy = (s: UplinkState): boolean => s === 'up' || s === 'suspect';

export class UplinkHealth {
  #state: UplinkState;
  #since: number;
  /** Send time of the newest answered probe (or when silence started being measured). */
  #lastAnsweredSentAt: number;
  #failedAt: number | null = null;
  #downAt: number | null = null;
  #answersInRow = 0;
  #transients = 0;
  #failures = 0;
  #lastFailureMs: number | null = null;

  constructor(
    private readonly limits: HealthThresholds,
    now: number,
    initial: 'up' | 'down' = 'up',
  ) {
    this.#state = initial;
    this.#since = now;
    this.#lastAnsweredSentAt = now;
    if (initial === 'down') {
      this.#failedAt = now;
      this.#downAt = now;
    }
  }

  get state(): UplinkState {
    return this.#state;
  }
  /** Time since the newest proof that the uplink works (see "silence" above). */
  silence(now: number): number {
    return now - this.#lastAnsweredSentAt;
  }

  get since(): number {
    return this.#since;
  }
  counters(): HealthCounters {
    return {
      transients: this.#transients,
      failures: this.#failures,
      lastFailureMs: this.#lastFailureMs,
    };
  }

  /** Feeds one event; returns the transition it caused, if any. The only place state changes. */
  handle(ev: HealthEvent): Transition | undefined {
    const s = this.#state;
    switch (ev.kind) {
      case 'link-down':
        return s === 'down' ? undefined : this.#go('down', ev.now, ev.why);
      case 'link-up':
        if (s !== 'down') return undefined;
        this.#answersInRow = 0;
        this.#lastAnsweredSentAt = ev.now; // measure silence from the link's return
        return this.#go('recovering', ev.now, 'link up');
      case 'answer':
        return this.#answer(ev.sentAt, ev.now);
      case 'delivered':
        return this.#delivered(ev.sentAt, ev.now);
      case 'tick':
        return this.#tick(ev.now);
      default: {
        const never: never = ev;
        return never;
      }
    }
  }

  #answer(sentAt: number, now: number): Transition | undefined {
    if (sentAt > this.#lastAnsweredSentAt) this.#lastAnsweredSentAt = sentAt;
    switch (this.#state) {
      case 'up':
        return undefined;
      case 'suspect':
        return this.#cleared(now, 'answered again');
      case 'down':
        // A late answer to a probe sent before the failure proves nothing.
        if (this.#downAt !== null && sentAt < this.#downAt) return undefined;
        this.#answersInRow = 1;
        if (this.limits.recoverProbes <= 1) return this.#recovered(now);
        return this.#go('recovering', now, 'answered');
      case 'recovering':
        this.#answersInRow++;
        if (this.#answersInRow >= this.limits.recoverProbes) return this.#recovered(now);
        return undefined;
      default: {
        const never: never = this.#state;
        return never;
      }
    }
  }

  /**
   * Arriving traffic keeps a working uplink from being judged silent and ends a suspicion,
   * but never brings a failed one back: recovery is proved by probes sent after the failure
   * (bytes from before it may still trickle in).
   */
  #delivered(sentAt: number, now: number): Transition | undefined {
    if (this.#state === 'down' || sentAt <= this.#lastAnsweredSentAt) return undefined;
    this.#lastAnsweredSentAt = sentAt;
    return this.#state === 'suspect' ? this.#cleared(now, 'traffic arrived') : undefined;
  }

  /**
   * suspect → up, if the newest proof is recent: a late answer to a probe sent suspectMs ago
   * or more says the uplink worked then, not that it works now (on a loaded uplink such
   * answers come one after another, and every one would flap up and back to suspect).
   */
  #cleared(now: number, reason: string): Transition | undefined {
    if (now - this.#lastAnsweredSentAt >= this.limits.suspectMs) return undefined;
    this.#transients++;
    return this.#go('up', now, reason);
  }

  #tick(now: number): Transition | undefined {
    const silence = now - this.#lastAnsweredSentAt;
    switch (this.#state) {
      case 'up':
        if (silence >= this.limits.stallMs)
          return this.#go('down', now, `no answer for ${Math.round(silence)} ms`);
        if (silence >= this.limits.suspectMs)
          return this.#go('suspect', now, `no answer for ${Math.round(silence)} ms`);
        return undefined;
      case 'suspect':
      case 'recovering':
        if (silence >= this.limits.stallMs)
          return this.#go('down', now, `no answer for ${Math.round(silence)} ms`);
        return undefined;
      case 'down':
        return undefined;
      default: {
        const never: never = this.#state;
        return never;
      }
    }
  }

  #recovered(now: number): Transition {
    if (this.#failedAt !== null) this.#lastFailureMs = now - this.#failedAt;
    this.#failedAt = null;
    return this.#go('up', now, `${this.limits.recoverProbes} answers in a row`);
  }

  #go(to: UplinkState, at: number, reason: string): Transition {
    const from = this.#state;
    if (to === 'down') {
      // Falling back from recovering continues the same failure.
      if (from !== 'recovering') {
        this.#failures++;
        this.#failedAt = at;
      }
      this.#downAt = at;
      this.#answersInRow = 0;
    }
    this.#state = to;
    this.#since = at;
    return { from, to, at, reason };
  }
}
