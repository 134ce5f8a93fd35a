/** The demo's story, the same on both networks: two paths, two downloads, faults on a schedule. */

export interface DemoPathSpec {
  name: string;
  rateMbit: number;
  rttMs: number;
  sizeBytes: number;
}

export const DEMO_PATHS: DemoPathSpec[] = [
  { name: 'wifi', rateMbit: 20, rttMs: 20, sizeBytes: 24 << 20 },
  { name: 'cellular', rateMbit: 8, rttMs: 80, sizeBytes: 16 << 20 },
];

export interface DemoFault {
  atMs: number;
  path: string;
  /** stall, up, or cut (the path's address goes away: a move). */
  kind: 'stall' | 'up' | 'cut';
  label: string;
}

export const DEMO_FAULTS: DemoFault[] = [
  { atMs: 4000, path: 'wifi', kind: 'stall', label: 'wifi stalls (packets silently dropped)' },
  { atMs: 6500, path: 'cellular', kind: 'cut', label: 'cellular: the laptop moves (new address)' },
  { atMs: 9000, path: 'wifi', kind: 'up', label: 'wifi recovers' },
];

export const DEMO_SEED = 'roam-demo';
/** The demo gives up on transfers still running after this long. */
export const DEMO_LIMIT_MS = 25_000;
