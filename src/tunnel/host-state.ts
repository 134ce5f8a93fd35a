import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  pidAlive,
  readStateFile,
  recordedNames,
  writeStateFile,
} from '../host-state/state-file.js';
import { RoamError } from '../errors.js';

/**
 * What a running tunnel end changed on the host, written before it changes it, so that
 * `roam tunnel down` restores the host after a crash: /run/roam-tunnel/<name>/state.json.
 * The tun device itself goes with the process (it is not persistent).
 */
export interface Command {
  readonly argv: readonly string[];
  /** Removing something that may already be gone. */
  readonly mayFail?: boolean;
}

export interface TunnelState {
  readonly version: 1;
  readonly name: string;
  readonly role: 'serve' | 'up';
  readonly pid: number;
  readonly device: string;
  readonly createdAt: string;
  readonly teardown: readonly Command[];
  /** Sysctls' values before we changed them. */
  readonly sysctls: Record<string, string>;
}

export const stateRoot = (): string => process.env.ROAM_TUNNEL_STATE_DIR ?? '/run/roam-tunnel';
export const stateDir = (name: string): string => join(stateRoot(), name);
export const controlSocketPath = (name: string): string => join(stateDir(name), 'control.sock');

export function writeState(s: TunnelState): void {
  writeStateFile(stateDir(s.name), s);
}

export function readState(name: string): TunnelState | undefined {
  return readStateFile<TunnelState>(stateDir(name), 'ROAM_TUNNEL_STATE');
}

export function recordedTunnels(): string[] {
  return recordedNames(stateRoot());
}

export { pidAlive };

/** Runs a command; a failure throws ROAM_TUNNEL_SYSTEM unless the command may fail. */
export function run(c: Command): void {
  const [cmd, ...args] = c.argv;
  if (cmd === undefined) return;
  try {
    execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    if (c.mayFail) return;
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new RoamError(
      'ROAM_TUNNEL_SYSTEM',
      `${c.argv.join(' ')} failed: ${stderr || (err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

export function readSysctl(key: string): string {
  return readFileSync(`/proc/sys/${key.replaceAll('.', '/')}`, 'utf8').trim();
}

export function writeSysctl(key: string, value: string): void {
  writeFileSync(`/proc/sys/${key.replaceAll('.', '/')}`, value);
}

/** Undoes what the state records; returns how many commands failed (all are tried). */
export function restore(s: TunnelState): number {
  let failed = 0;
  for (const c of s.teardown) {
    try {
      run(c);
    } catch {
      failed++;
    }
  }
  for (const [k, v] of Object.entries(s.sysctls)) {
    try {
      writeSysctl(k, v);
    } catch {
      failed++;
    }
  }
  rmSync(stateDir(s.name), { recursive: true, force: true });
  return failed;
}
