/**
 * Lookup answers, serialized once: a name's answer only changes when its entry or its
 * owner's entry changes, so the server keeps the JSON text per name and answers repeat
 * lookups without decoding or encoding records again. Two ways to know an answer is current:
 *   - `get(name, revision, ownerRevision)`: the caller read both revisions from the store
 *     (a store other processes write too, such as etcd);
 *   - `peek(name)`: the caller invalidates on every commit (`invalidate`, fed by the store's
 *     onCommit hook, or by its change feed on etcd), so a present answer is current and a
 *     lookup needs no store read.
 * Bounded: past `max` names the oldest answer is dropped.
 */
export interface LookupAnswer {
  readonly revision: number;
  /** Revision of the owner's entry, or 0 when there is none (users, bare names). */
  readonly ownerRevision: number;
  /** The user that owns the name (the name itself for users and bare names). */
  readonly owner: string;
  readonly deleted: boolean;
  readonly expiresAt: number;
  /** The record's key: what a heartbeat of the name is checked against. */
  readonly key: string;
  readonly json: string;
}

export class LookupCache {
  private readonly answers = new Map<string, LookupAnswer>();
  /** Owner → the other cached names it owns: a user's new version invalidates them all. */
  private readonly owned = new Map<string, Set<string>>();
  /** Counts invalidations: an answer read before one must not be cached after it. */
  private invalidations = 0;

  constructor(private readonly max: number) {}

  get(name: string, revision: number, ownerRevision: number): LookupAnswer | undefined {
    const a = this.answers.get(name);
    return a && a.revision === revision && a.ownerRevision === ownerRevision ? a : undefined;
  }

  /** The answer as cached, without a revision check (only for callers that `invalidate`). */
  peek(name: string): LookupAnswer | undefined {
    return this.answers.get(name);
  }

  /** Where the invalidation count is now: pass it to `set` after reading the store. */
  get generation(): number {
    return this.invalidations;
  }

  /**
   * Caches `answer`, unless an invalidation happened since `generation` (the answer was read
   * before a change committed and may be behind it).
   */
  set(name: string, answer: LookupAnswer, generation = this.invalidations): void {
    if (generation !== this.invalidations) return;
    this.drop(name);
    this.answers.set(name, answer);
    if (answer.owner !== name) {
      let names = this.owned.get(answer.owner);
      if (!names) this.owned.set(answer.owner, (names = new Set()));
      names.add(name);
    }
    if (this.answers.size > this.max) {
      const oldest = this.answers.keys().next();
      if (!oldest.done) this.drop(oldest.value);
    }
  }

  /** `name` changed: its answer and those of the names it owns are no longer current. */
  invalidate(name: string): void {
    this.invalidations++;
    this.drop(name);
    const names = this.owned.get(name);
    if (!names) return;
    this.owned.delete(name);
    for (const n of names) this.answers.delete(n);
  }

  /** Every answer goes (a store watch that could not resume without a gap). */
  clear(): void {
    this.invalidations++;
    this.answers.clear();
    this.owned.clear();
  }

  get size(): number {
    return this.answers.size;
  }

  private drop(name: string): void {
    const a = this.answers.get(name);
    if (!a) return;
    this.answers.delete(name);
    if (a.owner === name) return;
    const names = this.owned.get(a.owner);
    names?.delete(name);
    if (names?.size === 0) this.owned.delete(a.owner);
  }
}
