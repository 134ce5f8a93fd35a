import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RoamError } from '../errors.js';
import { LAB_ID_PATTERN } from './plan/names.js';
import type { Topology } from './topology/model.js';

/**
 * What a running lab is, on disk, so that separate `roam lab ...` commands (and a test's
 * crash clean-up) can find it: /run/roam-lab/<id>/state.json beside the wire daemon's
 * control socket and log.
 */
export interface LabState {
  version: 1;
  id: string;
  /** The topology as it is now: renumbering updates the addresses here. */
  topology: Topology;
  createdAt: string;
  /** A test process that owns the lab; the daemon removes the lab if it dies. */
  ownerPid: number | null;
  daemonPid: number | null;
}

export function stateRoot(): string {
  return process.env.ROAM_LAB_STATE_DIR ?? '/run/roam-lab';
}

export function stateDir(id: string): string {
  return join(stateRoot(), id);
}

export function controlSocketPath(id: string): string {
  return join(stateDir(id), 'control.sock');
}

export function daemonLogPath(id: string): string {
  return join(stateDir(id), 'wire.log');
}

// JSON has no Infinity; unlimited rates are stored as the string "Infinity".
const replacer = (_key: string, value: unknown) =>
  value === Number.POSITIVE_INFINITY ? 'Infinity' : value;
const reviver = (_key: string, value: unknown) =>
  value === 'Infinity' ? Number.POSITIVE_INFINITY : value;

export function writeState(state: LabState): void {
  const dir = stateDir(state.id);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `state.json.${process.pid}.tmp`);
  writeFileSync(tmp, JSON.stringify(state, replacer, 2), { mode: 0o600 });
  renameSync(tmp, join(dir, 'state.json'));
}

export function readState(id: string): LabState {
  if (!LAB_ID_PATTERN.test(id)) {
    throw new RoamError('ROAM_BAD_INPUT', `"${id}" is not a lab id (rl followed by 6 hex digits)`);
  }
  let text: string;
  try {
    text = readFileSync(join(stateDir(id), 'state.json'), 'utf8');
  } catch {
    throw new RoamError(
      'ROAM_LAB_NOT_UP',
      `lab ${id} is not up (no state in ${stateDir(id)}); start one with \`roam lab up FILE\``,
    );
  }
  const state = JSON.parse(text, reviver) as LabState;
  if (state.version !== 1 || state.id !== id) {
    throw new RoamError(
      'ROAM_LAB_STATE',
      `state of lab ${id} is unreadable; remove it with \`roam lab down --all\``,
    );
  }
  return state;
}

export function listLabIds(): string[] {
  try {
    return readdirSync(stateRoot()).filter((name) => LAB_ID_PATTERN.test(name));
  } catch {
    return [];
  }
}

export function removeState(id: string): void {
  rmSync(stateDir(id), { recursive: true, force: true });
}
