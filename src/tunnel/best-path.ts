import type { PathState } from './path-monitor.js';

/** What the chooser knows of one path (index = path id). */
export interface PathView {
  state: PathState;
  rttMs: number | undefined;
  /** As the mobility manager's roles: backups carry data only when no primary is up. */
  role: 'primary' | 'backup';
  /** Relative cost: among equals, the cheaper wins. */
  cost: number;
}

/** Hysteresis: a better path must stay better by this much for HOLD_MS before we move. */
export const BETTER_BY = 0.8;
export const BETTER_BY_MS = 5;
export const HOLD_MS = 2000;

/**
 * The best-path policy, pure and with its memory explicit: stay on the current path while it
 * is up; leave it at once when it goes down; move to a faster one only after it has been
 * clearly faster (20% and 5 ms) for 2 s. TCP then sees one switch per real change, not one
 * per RTT wobble (the seed's open problem).
 */
export class BestPathChooser {
  #current: number | undefined;
  #betterSinceMs: number | undefined;
  #pinned: number | undefined;

  get current(): number | undefined {
    return this.#current;
  }

  /** Pins a path (operator's choice); undefined gives the choice back to the policy. */
  pin(path: number | undefined): void {
    this.#pinned = path;
    this.#betterSinceMs = undefined;
    if (path !== undefined) this.#current = path;
  }

  choose(paths: readonly PathView[], nowMs: number): number | undefined {
    if (this.#pinned !== undefined) return this.#pinned;
    const usable = (role: 'primary' | 'backup') =>
      paths.map((p, i) => ({ p, i })).filter(({ p }) => p.role === role && p.state === 'up');
    let candidates = usable('primary');
    if (candidates.length === 0) candidates = usable('backup');
    if (candidates.length === 0) {
      // Nothing is known up: keep what we have unless it is known down, else try any not down.
      const cur = this.#current;
      if (cur !== undefined && paths[cur]?.state !== 'down') return cur;
      const any = paths.findIndex((p) => p.state !== 'down');
      this.#current = any >= 0 ? any : cur;
      return this.#current;
    }
    const score = (i: number): number => paths[i]?.rttMs ?? Number.POSITIVE_INFINITY;
    const best = candidates.reduce((a, b) =>
      score(b.i) < score(a.i) || (score(b.i) === score(a.i) && b.p.cost < a.p.cost) ? b : a,
    ).i;
    const cur = this.#current;
    if (cur === undefined || !candidates.some((c) => c.i === cur)) {
      this.#current = best;
      this.#betterSinceMs = undefined;
      return best;
    }
    if (best !== cur && score(best) < score(cur) * BETTER_BY - BETTER_BY_MS) {
      this.#betterSinceMs ??= nowMs;
      if (nowMs - this.#betterSinceMs >= HOLD_MS) {
        this.#current = best;
        this.#betterSinceMs = undefined;
      }
    } else {
      this.#betterSinceMs = undefined;
    }
    return this.#current;
  }
}
