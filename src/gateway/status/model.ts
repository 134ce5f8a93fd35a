import type { FlowStats } from '../http/flow-state.js';
import type { UplinkState } from '../health/state-machine.js';

export interface UplinkStatus {
  readonly name: string;
  readonly interface: string;
  readonly source: string | null;
  readonly gateway: string;
  readonly weight: number;
  readonly cost: number;
  readonly state: UplinkState;
  /** ISO time of the last state change. */
  readonly since: string;
  readonly rttMs: number | null;
  readonly loss: number;
  readonly rxBps: number;
  readonly txBps: number;
  /** HTTP flows on this uplink plus forwarded connections marked for it. */
  readonly flows: number;
  readonly failures: number;
  readonly transients: number;
  readonly lastFailureMs: number | null;
}

export interface ForwardedFlow {
  readonly protocol: string;
  readonly client: string;
  readonly server: string;
  readonly uplink: string;
  readonly bytes: number;
}

export interface MigrationRecord {
  readonly flow: number;
  readonly from: string | null;
  readonly to: string;
  readonly offset: number;
  readonly reason: string;
  /** ISO time the re-request left. */
  readonly at: string;
  /** From the failure to the first resumed body byte handed to the client; null until then. */
  readonly recoveryMs: number | null;
  /** range, discard, replay, complete once spliced; cancelled when the original came back. */
  readonly kind: string | null;
}

export interface UplinkEvent {
  readonly uplink: string;
  readonly from: UplinkState;
  readonly to: UplinkState;
  readonly reason: string;
  readonly at: string;
}

export interface GatewayStatus {
  readonly name: string;
  readonly pid: number;
  readonly startedAt: string;
  readonly settings: {
    readonly intercept: boolean;
    readonly port: number;
    readonly splice: boolean;
    readonly fastReset: boolean;
  };
  readonly uplinks: readonly UplinkStatus[];
  readonly http: readonly FlowStats[];
  readonly forwarded: readonly ForwardedFlow[];
  readonly migrations: readonly MigrationRecord[];
  /** The last 100 uplink state changes. */
  readonly events: readonly UplinkEvent[];
  /** Connections reset because their uplink failed (fastReset). */
  readonly resets: number;
}
