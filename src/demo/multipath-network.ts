import type { EventEmitter } from 'node:events';
import type { Snapshot } from './path-view.js';

/** One roam multipath download with its flowpaths coming and going on a schedule. */
export interface MultipathDemoNetwork {
  description: string;
  /** 'snapshot' four times a second; 'event' for each scheduled change and manager action. */
  events: EventEmitter<{
    snapshot: [Omit<Snapshot, 'at'>];
    event: [string];
    done: [{ bytes: number; sha256: string }];
    failed: [{ bytes: number; code: string }];
  }>;
  /** Starts the download and the schedule (offsets in ms from now). */
  start(): void;
  close(): Promise<void>;
}

/** The multipath story: Wi-Fi alone, cellular appears, vanishes, returns, Wi-Fi drops out. */
export const MP_DEMO_SIZE = 56 << 20;
export const MP_DEMO_LIMIT_MS = 45_000;
export const MP_SCHEDULE = [
  { atMs: 3000, step: 'cell-up', label: 'a cellular network appears' },
  { atMs: 7000, step: 'cell-gone', label: 'the cellular address is removed' },
  { atMs: 10_000, step: 'cell-up', label: 'cellular is back' },
  { atMs: 13_000, step: 'wifi-gone', label: 'Wi-Fi goes away' },
  { atMs: 17_000, step: 'wifi-up', label: 'Wi-Fi is back' },
] as const;
export type MpStep = (typeof MP_SCHEDULE)[number]['step'];
