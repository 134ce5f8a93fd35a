/**
 * One uplink's health from its probes, as the seed's prober: RTT and loss are simple moving
 * averages over the last 5 probes. Pure: fed with probe outcomes, asked for a verdict.
 *
 *   unknown --3 answered in a row--> up --2 lost in a row--> down --3 answered--> up
 *
 * Two losses in a row (not one) keep a single dropped probe from moving traffic; three
 * answers in a row keep a flapping path from coming back too soon (hysteresis).
 */
export const WINDOW = 5;
export const LOST_TO_DOWN = 2;
export const ANSWERED_TO_UP = 3;

export type PathState = 'unknown' | 'up' | 'down';

export class PathMonitor {
  #rtts: number[] = [];
  #outcomes: number[] = [];
  #lostRun = 0;
  #answeredRun = 0;
  #state: PathState = 'unknown';
  #changedAtMs: number;

  constructor(nowMs: number) {
    this.#changedAtMs = nowMs;
  }

  get state(): PathState {
    return this.#state;
  }
  get changedAtMs(): number {
    return this.#changedAtMs;
  }
  /** Mean of the last 5 RTTs in ms, or undefined before the first answer. */
  get rttMs(): number | undefined {
    if (this.#rtts.length === 0) return undefined;
    return this.#rtts.reduce((a, b) => a + b, 0) / this.#rtts.length;
  }
  /** Share of the last 5 probes that went unanswered. */
  get loss(): number {
    if (this.#outcomes.length === 0) return 0;
    return this.#outcomes.reduce((a, b) => a + b, 0) / this.#outcomes.length;
  }

  /** How long to wait for a reply before the probe counts as lost: 3 RTT + 50 ms, 100..1000 ms. */
  timeoutMs(): number {
    const rtt = this.rttMs;
    if (rtt === undefined) return 1000;
    return Math.min(1000, Math.max(100, 3 * rtt + 50));
  }

  answered(rttMs: number, nowMs: number): void {
    push(this.#rtts, rttMs);
    push(this.#outcomes, 0);
    this.#lostRun = 0;
    this.#answeredRun++;
    if (this.#state !== 'up' && this.#answeredRun >= ANSWERED_TO_UP) this.#move('up', nowMs);
  }

  lost(nowMs: number): void {
    push(this.#outcomes, 1);
    this.#answeredRun = 0;
    this.#lostRun++;
    if (this.#state !== 'down' && this.#lostRun >= LOST_TO_DOWN) this.#move('down', nowMs);
  }

  /** The address changed: what was measured belongs to the old one. */
  reset(nowMs: number): void {
    this.#rtts = [];
    this.#outcomes = [];
    this.#lostRun = 0;
    this.#answeredRun = 0;
    this.#move('unknown', nowMs);
  }

  #move(to: PathState, nowMs: number): void {
    this.#state = to;
    this.#changedAtMs = nowMs;
  }
}

function push(window: number[], x: number): void {
  window.push(x);
  if (window.length > WINDOW) window.shift();
}
