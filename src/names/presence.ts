import { namesError } from './codes.js';

/**
 * Device presence (TSMP V-B3): a device is online while its signed heartbeats keep
 * arriving, and offline once none came for `offlineAfterMs`. The signature is checked by the
 * service; this table only orders heartbeats and tells the state. Pure: time is an argument.
 *
 * Replays: a heartbeat carries the sender's clock `at`; it must be newer than the last one
 * accepted for the name and within `maxSkewMs` of the server's clock, so a recorded
 * heartbeat cannot be played back later (nor after a restart, once the skew window passed).
 *
 * State per name:   unknown ──beat──▶ online ──(no beat for offlineAfterMs)──▶ offline
 *                                        ▲─────────────────beat──────────────────┘
 */
export interface PresenceOptions {
  offlineAfterMs: number;
  maxSkewMs: number;
  /** Bound on remembered names; the longest silent ones are forgotten first. */
  maxEntries: number;
}

export interface PresenceState {
  online: boolean;
  /** Server time of the last accepted heartbeat, or undefined if none since start. */
  lastSeen: number | undefined;
}

interface Entry {
  at: number;
  seen: number;
}

export class PresenceTable {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly opts: PresenceOptions) {}

  /** Records a heartbeat whose signature the caller verified. Throws on replay or skew. */
  beat(name: string, at: number, now: number): void {
    if (Math.abs(at - now) > this.opts.maxSkewMs)
      throw namesError(
        'ROAM_NAMES_CLOCK_SKEW',
        `heartbeat time ${at} is more than ${this.opts.maxSkewMs} ms from the server's ${now}; fix the device's clock`,
      );
    const last = this.entries.get(name);
    if (last && at <= last.at)
      throw namesError(
        'ROAM_NAMES_STALE',
        `heartbeat of ${name} at ${at} is not newer than the last one (${last.at}): a replay`,
        { details: { currentVersion: last.at } },
      );
    this.entries.delete(name); // re-insert: Map order is then least recently seen first
    this.entries.set(name, { at, seen: now });
    while (this.entries.size > this.opts.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }

  state(name: string, now: number): PresenceState {
    const e = this.entries.get(name);
    if (!e) return { online: false, lastSeen: undefined };
    return { online: now - e.seen < this.opts.offlineAfterMs, lastSeen: e.seen };
  }

  /** The names online at `now` (for publishing presence in batches). */
  *online(now: number): IterableIterator<string> {
    for (const [name, e] of this.entries) if (now - e.seen < this.opts.offlineAfterMs) yield name;
  }

  forget(name: string): void {
    this.entries.delete(name);
  }
}
