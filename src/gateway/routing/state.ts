import { rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  pidAlive,
  readStateFile,
  recordedNames,
  writeStateFile,
} from '../../host-state/state-file.js';
import type { Command } from './command.js';

/**
 * What a running gateway changed, on disk before it changes it, so `roam gateway down`
 * can restore the host after a crash: /run/roam-gateway/<name>/state.json.
 */
export interface GatewayState {
  readonly version: 1;
  readonly name: string;
  readonly pid: number;
  /** The named network namespace the gateway runs in (null: the host's). */
  readonly netns: string | null;
  readonly createdAt: string;
  /** Removes every rule, chain, table the gateway may have added (all may fail). */
  readonly teardown: readonly Command[];
  /** Sysctls' values before the gateway changed them. */
  readonly sysctls: Record<string, string>;
}

export function gatewayStateRoot(): string {
  return process.env.ROAM_GATEWAY_STATE_DIR ?? '/run/roam-gateway';
}
export function gatewayStateDir(name: string): string {
  return join(gatewayStateRoot(), name);
}
export function controlSocketPath(name: string): string {
  return join(gatewayStateDir(name), 'control.sock');
}

export function writeGatewayState(state: GatewayState): void {
  writeStateFile(gatewayStateDir(state.name), state);
}

export function readGatewayState(name: string): GatewayState | undefined {
  return readStateFile<GatewayState>(gatewayStateDir(name), 'ROAM_GATEWAY_STATE');
}

export function removeGatewayState(name: string): void {
  rmSync(gatewayStateDir(name), { recursive: true, force: true });
}

/** Names of every recorded gateway (running or crashed). */
export function recordedGateways(): string[] {
  return recordedNames(gatewayStateRoot());
}

export { pidAlive };
