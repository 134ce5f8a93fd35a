import type { NameRecord } from '../record.js';

export interface CacheEntry {
  readonly record: NameRecord;
  /** When the client last heard this version confirmed (lookup or watch), client clock. */
  readonly confirmedAt: number;
}

/**
 * The client's version-aware cache: it keeps the highest version seen of each name and never
 * goes backwards, so a late answer, a replayed event or a server that lags cannot undo a
 * newer record. Tombstones are kept too: a deleted name stays deleted for this cache.
 * Bounded: past `maxEntries` the least recently confirmed name is forgotten.
 */
export class VersionCache {
  private readonly entries = new Map<string, CacheEntry>();

  constructor(private readonly maxEntries = 10_000) {}

  get(name: string): CacheEntry | undefined {
    return this.entries.get(name);
  }

  /** True if `record` is newer than what is cached (and is now cached); false otherwise. */
  offer(record: NameRecord, now: number): boolean {
    const cur = this.entries.get(record.name);
    if (cur && record.version < cur.record.version) return false;
    if (cur && record.version === cur.record.version) {
      this.touch(record.name, now);
      return false;
    }
    this.entries.delete(record.name);
    this.entries.set(record.name, { record, confirmedAt: now });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    return true;
  }

  touch(name: string, now: number): void {
    const cur = this.entries.get(name);
    if (!cur) return;
    this.entries.delete(name);
    this.entries.set(name, { record: cur.record, confirmedAt: now });
  }

  get size(): number {
    return this.entries.size;
  }
}
