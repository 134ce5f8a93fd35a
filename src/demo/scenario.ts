/** The demo's story, the same on both networks: two paths, four downloads, faults on a schedule. */

export interface DemoPathSpec {
  name: string;
  rateMbit: number;
  rttMs: number;
  sizeBytes: number;
}

export const DEMO_PATHS: DemoPathSpec[] = [
  { name: 'wifi', rateMbit: 20, rttMs: 20, sizeBytes: 16 << 20 },
  { name: 'cellular', rateMbit: 8, rttMs: 80, sizeBytes: 8 << 20 },
];

export type Transport = 'tcp' | 'roam';

/** On each path, side by side: a plain TCP download and a roam session download. */
export interface DemoTransferSpec {
  key: string;
  path: DemoPathSpec;
  transport: Transport;
}

export const DEMO_TRANSFERS: DemoTransferSpec[] = DEMO_PATHS.flatMap((path) =>
  (['tcp', 'roam'] as const).map((transport) => ({
    key: `${path.name}/${transport}`,
    path,
    transport,
  })),
);

/** Session timing for the demo: a dead path is noticed in 1.5 s, retried every 0.5 s. */
export const DEMO_SESSION_TIMING = {
  keepaliveIntervalMs: 250,
  deadAfterMs: 1500,
  retryIntervalMs: 500,
};

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
export const DEMO_LIMIT_MS = 40_000;
