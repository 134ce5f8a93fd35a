import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RoamError } from '../../errors.js';
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
  const dir = gatewayStateDir(state.name);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `state.json.${process.pid}.tmp`);
  writeFileSync(tmp, JSON.stringify(state, null, 2), { mode: 0o600 });
  renameSync(tmp, join(dir, 'state.json'));
}

export function readGatewayState(name: string): GatewayState | undefined {
  let text: string;
  try {
    text = readFileSync(join(gatewayStateDir(name), 'state.json'), 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as GatewayState;
  } catch (err) {
    throw new RoamError(
      'ROAM_GATEWAY_STATE',
      `${gatewayStateDir(name)}/state.json is corrupt (${(err as Error).message}); remove it and clean up by hand`,
    );
  }
}

export function removeGatewayState(name: string): void {
  rmSync(gatewayStateDir(name), { recursive: true, force: true });
}

/** Names of every recorded gateway (running or crashed). */
export function recordedGateways(): string[] {
  try {
    return readdirSync(gatewayStateRoot()).filter((n) => /^[a-z0-9]{1,8}$/.test(n));
  } catch {
    return [];
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
