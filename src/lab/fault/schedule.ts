import type { ScheduledFault } from '../topology/model.js';
import type { FaultResult } from './apply.js';
import type { FaultOptions } from './fault.js';

/** What a schedule needs of a lab; a Lab is one, and tests can pass a recorder. */
export interface FaultTarget {
  fault(
    link: string,
    kind: string,
    value?: string | number,
    options?: FaultOptions,
  ): Promise<FaultResult>;
}

export interface ScheduleRun {
  /** Settles when every event has been applied (or the run was cancelled). */
  done: Promise<FaultResult[]>;
  /** Stops before the next event; its timer is cleared. */
  cancel(): void;
}

export interface ScheduleOptions {
  onApplied?: (result: FaultResult, event: ScheduledFault) => void;
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

/** Applies faults at their offsets from now, in order. A fault that fails rejects `done`. */
export function runSchedule(
  target: FaultTarget,
  events: readonly ScheduledFault[],
  options: ScheduleOptions = {},
): ScheduleRun {
  const now = options.now ?? (() => performance.now());
  const setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
  const clearTimer = options.clearTimer ?? ((h) => clearTimeout(h as NodeJS.Timeout));
  const start = now();
  const sorted = [...events].sort((x, y) => x.atMs - y.atMs);
  let cancelled = false;
  let pending: { handle: unknown; wake: () => void } | undefined;

  const waitUntil = (offsetMs: number) =>
    new Promise<void>((resolve) => {
      const handle = setTimer(
        () => {
          pending = undefined;
          resolve();
        },
        Math.max(0, start + offsetMs - now()),
      );
      pending = { handle, wake: resolve };
    });

  const done = (async () => {
    const applied: FaultResult[] = [];
    for (const event of sorted) {
      await waitUntil(event.atMs);
      if (cancelled) break;
      const result = await target.fault(event.link, event.kind, event.value, {
        side: event.side,
        announce: event.announce,
      });
      applied.push(result);
      options.onApplied?.(result, event);
    }
    return applied;
  })();

  return {
    done,
    cancel() {
      cancelled = true;
      if (pending) {
        clearTimer(pending.handle);
        pending.wake();
        pending = undefined;
      }
    },
  };
}
