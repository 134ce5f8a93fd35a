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

/** Largest cost the frame carries (u32). */
const U32_MAX = 0xffff_ffff;

/** Absent an announcement, a path is active with cost 0. */
const DEFAULT_KEY = 'active/0';

function keyOf(role: PathRole): string {
  return `${role.status}/${role.cost}`;
}

/** The role of a path under the client's policy: backup only under the backup scheduler. */
export function roleOf(scheduler: string, policy: { preferred: boolean; cost: number }): PathRole {
  const cost = Number.isFinite(policy.cost)
    ? Math.min(U32_MAX, Math.max(0, Math.round(policy.cost)))
    : U32_MAX;
  return { status: scheduler === 'backup' && !policy.preferred ? 'backup' : 'active', cost };
}

/**
 * Client: the roles last announced. An announcement carries the role of every open
 * flowpath under one sequence number and goes on every open flowpath (a role change often
 * comes because a path is failing), demotions first, so that the server never sees two
 * preferred paths' worth of a swap half applied for longer than one read.
 */
export class AnnouncedRoles {
  #seq = 0;
  readonly #sent = new Map<number, string>();

  /** The frames of a new announcement when some role changed since the last, else none. */
  announce(roles: ReadonlyMap<number, PathRole>): PathStatusFrame[] {
    const changed = [...roles].some(([id, r]) => (this.#sent.get(id) ?? DEFAULT_KEY) !== keyOf(r));
    if (!changed) return [];
    this.#seq = (this.#seq + 1) % 256;
    for (const [id, r] of roles) this.#sent.set(id, keyOf(r));
    return [...roles]
      .sort(([, x], [, y]) => (x.status === y.status ? 0 : x.status === 'backup' ? -1 : 1))
      .map(([pathId, r]) => ({
        type: 'path-status',
        pathId,
        status: r.status,
        seq: this.#seq,
        cost: r.cost,
      }));
  }

  /** The frame that says flowpath `pathId` is gone; a new one with its id starts afresh. */
  removed(pathId: number): PathStatusFrame {
    this.#sent.delete(pathId);
    return { type: 'path-status', pathId, status: 'removed', seq: this.#seq, cost: 0 };
  }

  forget(pathId: number): void {
    this.#sent.delete(pathId);
  }
}

/**
 * Server: the roles the client gave its live flowpaths. Entries exist only for live
 * flowpaths (the session forgets a path when it closes), so a peer flooding PATH_STATUS
 * costs a map lookup per frame and memory bounded by the flowpath limit.
 */
export class PeerRoles {
  readonly #roles = new Map<number, PathRole & { seq: number }>();

  /**
   * Records a backup/active announcement unless an older copy (serial arithmetic mod 256:
   * at most 127 announcements behind); true when it changed the path's role.
   */
  set(pathId: number, role: PathRole, seq: number): boolean {
    const old = this.#roles.get(pathId);
    if (old) {
      const ahead = (seq - old.seq + 256) % 256;
      if (ahead === 0 || ahead >= 128) return false;
    }
    this.#roles.set(pathId, { status: role.status, cost: role.cost, seq });
    return !old || keyOf(old) !== keyOf(role);
  }

  get(pathId: number): PathRole | undefined {
    const r = this.#roles.get(pathId);
    return r && { status: r.status, cost: r.cost };
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
