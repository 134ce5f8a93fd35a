import { U32_MAX } from '../wire/fields.js';
import { type PathStatusFrame } from '../wire/index.js';

/**
 * PATH_STATUS bookkeeping (docs/protocol.md): the client tells the server which of its
 * flowpaths it removed and which it keeps as backups, so that the server's send direction
 * follows the client's policy and data in flight on a removed path is re-sent at once.
 * Pure state, no I/O: the session sends and applies.
 */

/** A role the client gives a live flowpath. */
export interface PathRole {
  status: 'active' | 'backup';
  /** u32; lower is cheaper. */
  cost: number;
}

/** Absent an announcement, a path is active with cost 0. */
const DEFAULT_KEY = 'active/0';

function keyOf(role: PathRole): string {
  return `${role.status}/${role.cost}`;
}

/** The role of a path under the client's policy: backup only under the backup scheduler. */
export function roleOf(
  scheduler: string,
  policy: { preferred: boolean; cost: number },
): PathRole {
  const cost = Number.isFinite(policy.cost)
    ? Math.min(U32_MAX, Math.max(0, Math.round(policy.cost)))
    : U32_MAX;
  return { status: scheduler === 'backup' && !policy.preferred ? 'backup' : 'active', cost };
}

/** Client: what was announced per flowpath, so that only changes go out. */
export class AnnouncedRoles {
  readonly #sent = new Map<number, string>();

  /** The frame to send for `pathId` when its role changed since the last one, else null. */
  update(pathId: number, role: PathRole): PathStatusFrame | null {
    const key = keyOf(role);
    if ((this.#sent.get(pathId) ?? DEFAULT_KEY) === key) return null;
    this.#sent.set(pathId, key);
    return { type: 'path-status', pathId, status: role.status, cost: role.cost };
  }

  /** The flowpath closed: a new one with the same id starts from the default. */
  forget(pathId: number): void {
    this.#sent.delete(pathId);
  }
}

/**
 * Server: the roles the client gave its live flowpaths. Entries exist only for live
 * flowpaths (the session forgets a path when it closes), so a peer flooding PATH_STATUS
 * costs one map lookup per frame and memory bounded by the flowpath limit.
 */
export class PeerRoles {
  readonly #roles = new Map<number, PathRole>();

  /** Records a backup/active announcement; true when it changed the path's role. */
  set(pathId: number, role: PathRole): boolean {
    const old = this.#roles.get(pathId);
    if (old && keyOf(old) === keyOf(role)) return false;
    this.#roles.set(pathId, { ...role });
    return true;
  }

  get(pathId: number): PathRole | undefined {
    return this.#roles.get(pathId);
  }

  /** Some live flowpath is a backup: the server's scheduler must honour roles. */
  get anyBackup(): boolean {
    for (const r of this.#roles.values()) if (r.status === 'backup') return true;
    return false;
  }

  forget(pathId: number): void {
    this.#roles.delete(pathId);
  }
}
