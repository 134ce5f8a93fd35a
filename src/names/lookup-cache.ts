/**
 * Lookup answers, serialized once: a name's answer only changes when its entry or its
 * owner's entry gets a new revision, so the server keeps the JSON text per name with the two
 * revisions it was made from and answers repeat lookups without decoding or encoding
 * records again. Bounded: past `max` names the oldest answer is dropped.
 */
export interface LookupAnswer {
  readonly revision: number;
  /** Revision of the owner's entry, or 0 when there is none (users, bare names). */
  readonly ownerRevision: number;
  readonly deleted: boolean;
  readonly expiresAt: number;
  readonly json: string;
}

export class LookupCache {
  private readonly answers = new Map<string, LookupAnswer>();

  constructor(private readonly max: number) {}

  get(name: string, revision: number, ownerRevision: number): LookupAnswer | undefined {
    const a = this.answers.get(name);
    return a && a.revision === revision && a.ownerRevision === ownerRevision ? a : undefined;
  }

  set(name: string, answer: LookupAnswer): void {
    this.answers.delete(name);
    this.answers.set(name, answer);
    if (this.answers.size > this.max) {
      const oldest = this.answers.keys().next();
      if (!oldest.done) this.answers.delete(oldest.value);
    }
  }

  get size(): number {
    return this.answers.size;
  }
}
