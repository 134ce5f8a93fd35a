import type { FaultKind } from './schema.js';

/** The normalized topology every other lab module works from: units resolved, defaults filled. */

export interface Endpoint {
  host: string;
  ifname: string;
  ip: string;
  prefixLen: number;
  gateway: string | undefined;
  nat: boolean;
  kind: string;
  /** Route metric of this interface's default route in the main table: lower wins. */
  metric: number;
}

export interface DirectionSpec {
  /** Bits per second; Infinity means no rate limit. */
  rateBps: number;
  delayMs: number;
  jitterMs: number;
  loss: number;
  /** Absolute path of a bandwidth trace file, or null. */
  trace: string | null;
}

export interface LinkSpec {
  name: string;
  a: Endpoint;
  b: Endpoint;
  /** a → b. */
  up: DirectionSpec;
  /** b → a. */
  down: DirectionSpec;
  queuePackets: number;
}

export interface HostSpec {
  name: string;
  forward: boolean;
  routes: { to: string; via: string }[];
}

export interface ScheduledFault {
  atMs: number;
  link: string;
  kind: FaultKind;
  side: 'a' | 'b';
  value: string | number | undefined;
  announce?: boolean;
}

export interface Topology {
  name: string;
  hosts: HostSpec[];
  links: LinkSpec[];
  schedule: ScheduledFault[];
}
