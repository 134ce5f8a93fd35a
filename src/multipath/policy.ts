/**
 * Which flowpaths the backup scheduler prefers, what each costs and how much it may carry;
 * keys are a flowpath's local address, its remote host, or its remote "host:port".
 */
export interface PathPolicy {
  prefer?: string[];
  cost?: Record<string, number>;
  byteCap?: Record<string, number>;
  /** Backups come in when the preferred paths would need longer than this. Default 500. */
  demandMs?: number;
}
