import type { Admission } from './admission.js';
import type { Victim } from './table.js';

/**
 * Ends never-confirmed sessions on time: one timer for the whole table, armed while any
 * unconfirmed session exists, unref'd so it never keeps a process alive.
 */
export class UnconfirmedSweeper {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly admission: Admission,
    private readonly tableSize: () => number,
    private readonly expire: (victim: Victim) => void,
  ) {}

  /** A session was added: make sure a sweep is due. */
  arm(): void {
    if (this.timer || !this.admission.options.enabled) return;
    const every = Math.max(50, Math.floor(this.admission.options.unconfirmedTimeoutMs / 4));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      for (const v of this.admission.overdue(this.tableSize())) this.expire(v);
      if (this.admission.unconfirmedCount > 0) this.arm();
    }, every);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
