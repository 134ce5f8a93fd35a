import type { EventEmitter } from 'node:events';

/** What the demo needs of a network: per path a download and RTT samples, and faults. */
export interface TransferEvents {
  progress: [bytes: number];
  done: [result: { bytes: number; sha256: string }];
  failed: [result: { bytes: number; code: string }];
}

export type DemoTransfer = EventEmitter<TransferEvents>;

export interface DemoNetwork {
  /** What the user is looking at, e.g. "network namespaces (lab rl12ab34)". */
  description: string;
  /** Starts the download and an RTT probe on every path. */
  start(): Promise<Map<string, DemoTransfer>>;
  rtt: EventEmitter<{ rtt: [path: string, ms: number] }>;
  fault(path: string, kind: 'stall' | 'up' | 'cut'): Promise<void>;
  close(): Promise<void>;
}
