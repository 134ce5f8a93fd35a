/** A validated gateway configuration with every default filled in. */
export interface UplinkConfig {
  readonly name: string;
  readonly interface: string;
  readonly gateway: string;
  /** The uplink's own address; undefined: discovered from the interface at start. */
  readonly source: string | undefined;
  readonly weight: number;
  readonly cost: number;
}

export interface ProbeTarget {
  readonly host: string;
  readonly port: number;
}

export interface GatewayConfig {
  readonly name: string;
  readonly lan: { readonly interface: string };
  readonly uplinks: readonly UplinkConfig[];
  /** Empty: no active probes (link events only); a stall then goes unnoticed. */
  readonly probes: { readonly targets: readonly ProbeTarget[]; readonly intervalMs: number };
  readonly health: {
    readonly stallMs: number;
    readonly suspectMs: number;
    readonly recoverProbes: number;
  };
  readonly http: {
    readonly intercept: boolean;
    readonly port: number;
    readonly splice: boolean;
    /** Most spare upstream connections open at once for responses on suspect uplinks; 0: none. */
    readonly spares: number;
  };
  readonly fastReset: boolean;
  readonly routing: {
    readonly tableBase: number;
    readonly rulePriority: number;
    readonly markShift: number;
  };
}
