/**
 * What admission knows of each session in the server's table: its source and its
 * standing. Pure (no timers, no sockets; time is passed in), so the eviction order is
 * unit-tested on a manual clock.
 *
 *            confirm (ACK, attach proof)
 *   unconfirmed ───────────────────────▶ live ◀──── attach ────┐
 *        │                                │                    │
 *        │ timeout / evicted              └──── detach ──▶ detached ── evicted / expired
 *        ▼
 *     removed
 *
 * An unconfirmed session stays unconfirmed while detached: it never proved anything.
 * Confirmation is read from the session (a probe) when the table looks, so the session
 * needs no callback into admission for it.
 */

export type Standing = 'unconfirmed' | 'live' | 'detached';

export interface TableEntry {
  readonly id: string;
  readonly source: string;
  standing: Standing;
  /** When it was added (unconfirmed) or last detached (detached), ms. */
  since: number;
  /** Detached now (also while unconfirmed). */
  detached: boolean;
  readonly confirmed: () => boolean;
}

export interface Victim {
  id: string;
  source: string;
  standing: 'unconfirmed' | 'detached';
}

export class AdmissionTable {
  private readonly entries = new Map<string, TableEntry>();
  /** In order of arrival: the oldest first. */
  private readonly unconfirmed = new Map<string, TableEntry>();
  /** In order of detaching: the longest-detached first. */
  private readonly detachedOrder = new Map<string, TableEntry>();
  private readonly bySource = new Map<string, Set<TableEntry>>();

  get size(): number {
    return this.entries.size;
  }

  get detachedCount(): number {
    this.refreshAll();
    return this.detachedOrder.size;
  }

  get unconfirmedCount(): number {
    this.refreshAll();
    return this.unconfirmed.size;
  }

  sourceOf(id: string): string | undefined {
    return this.entries.get(id)?.source;
  }

  standingOf(id: string): Standing | undefined {
    const e = this.entries.get(id);
    if (e) this.refresh(e);
    return e?.standing;
  }

  add(id: string, source: string, now: number, confirmed: () => boolean): void {
    if (this.entries.has(id)) return;
    const e: TableEntry = {
      id,
      source,
      standing: 'unconfirmed',
      since: now,
      detached: false,
      confirmed,
    };
    this.entries.set(id, e);
    this.unconfirmed.set(id, e);
    let set = this.bySource.get(source);
    if (!set) this.bySource.set(source, (set = new Set()));
    set.add(e);
  }

  detach(id: string, now: number): void {
    const e = this.entries.get(id);
    if (!e || e.detached) return;
    e.detached = true;
    this.refresh(e);
    if (e.standing === 'live') {
      e.standing = 'detached';
      e.since = now;
      this.detachedOrder.set(id, e);
    }
  }

  attach(id: string): void {
    const e = this.entries.get(id);
    if (!e || !e.detached) return;
    e.detached = false;
    if (e.standing === 'detached') {
      e.standing = 'live';
      this.detachedOrder.delete(id);
    }
  }

  remove(id: string): void {
    const e = this.entries.get(id);
    if (!e) return;
    this.entries.delete(id);
    this.unconfirmed.delete(id);
    this.detachedOrder.delete(id);
    const set = this.bySource.get(e.source);
    set?.delete(e);
    if (set?.size === 0) this.bySource.delete(e.source);
  }

  /** Unconfirmed sessions of one source (bounded by the per-source limit, so cheap). */
  unconfirmedOf(source: string): number {
    return this.countOf(source, 'unconfirmed');
  }

  detachedOf(source: string): number {
    return this.countOf(source, 'detached');
  }

  /**
   * Who goes when the table is full: the oldest never-confirmed session, else the
   * longest-detached one; a live session never (undefined: refuse the newcomer).
   */
  victim(): Victim | undefined {
    for (const e of this.unconfirmed.values()) {
      if (this.refresh(e) === 'unconfirmed') return victimOf(e);
    }
    return this.oldestDetached();
  }

  /** The longest-detached session of all, or of one source. */
  oldestDetached(source?: string): Victim | undefined {
    return this.longestDetached(1, source)[0];
  }

  /** The `n` longest-detached sessions of all, or of one source, longest first. */
  longestDetached(n: number, source?: string): Victim[] {
    this.refreshAll();
    const out: Victim[] = [];
    for (const e of this.detachedOrder.values()) {
      if (out.length >= n) break;
      if (source === undefined || e.source === source) out.push(victimOf(e));
    }
    return out;
  }

  /** Never-confirmed sessions that arrived `timeoutMs` or more before `now`. */
  overdue(now: number, timeoutMs: number): Victim[] {
    const out: Victim[] = [];
    for (const e of this.unconfirmed.values()) {
      if (this.refresh(e) !== 'unconfirmed') continue;
      if (now - e.since < timeoutMs) break; // in arrival order: the rest are younger
      out.push(victimOf(e));
    }
    return out;
  }

  private countOf(source: string, standing: Standing): number {
    let n = 0;
    for (const e of this.bySource.get(source) ?? []) if (this.refresh(e) === standing) n++;
    return n;
  }

  private refreshAll(): void {
    for (const e of this.unconfirmed.values()) this.refresh(e);
  }

  /** Promotes an unconfirmed entry whose session has confirmed since we last looked. */
  private refresh(e: TableEntry): Standing {
    if (e.standing === 'unconfirmed' && e.confirmed()) {
      this.unconfirmed.delete(e.id);
      e.standing = e.detached ? 'detached' : 'live';
      // A session that confirmed and then lost its path: it counts as detached from now on
      // (when it detached is not known any more precisely than "before this look").
      if (e.detached) this.detachedOrder.set(e.id, e);
    }
    return e.standing;
  }
}

function victimOf(e: TableEntry): Victim {
  return {
    id: e.id,
    source: e.source,
    standing: e.standing === 'detached' ? 'detached' : 'unconfirmed',
  };
}
