import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RoamError, type RoamErrorCode } from '../errors.js';

/**
 * The state file of something that changes the host (a gateway, a tunnel end): written
 * before it changes anything, so that `down` restores the host after a crash. One folder per
 * name under a root, `state.json` in it, written atomically and readable by root only.
 */
export function writeStateFile(dir: string, state: unknown): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `state.json.${process.pid}.tmp`);
  writeFileSync(tmp, JSON.stringify(state, null, 2), { mode: 0o600 });
  renameSync(tmp, join(dir, 'state.json'));
}

/** The recorded state, undefined when there is none; a corrupt file is `code`. */
export function readStateFile<T>(dir: string, code: RoamErrorCode): T | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, 'state.json'), 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new RoamError(
      code,
      `${dir}/state.json is corrupt (${(err as Error).message}); remove it and clean up by hand`,
    );
  }
}

/** Names with a state folder under `root` (running or crashed). */
export function recordedNames(root: string): string[] {
  try {
    return readdirSync(root).filter((n) => /^[a-z0-9]{1,8}$/.test(n));
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
