/**
 * Soft presence published in batches (docs/names-scale.md): each name server keeps the
 * presence of the devices that heartbeat to it (PresenceTable) and publishes, per shard of
 * the device names, the set of its devices online, so every server of the store can answer
 * list-devices. A shard is published when its set changed, and again every `refreshMs` so a
 * reader can tell a live publication from one a dead server left behind (it ignores
 * publications older than `offlineAfterMs`). Pure: time is an argument.
 */
export interface PresenceBatchOptions {
  /** Shards of the device names (default 256). */
  shards: number;
  /** A shard unchanged for this long is published again (default a third of offlineAfterMs). */
  refreshMs: number;
}

export interface Batch {
  shard: number;
  /** The devices of this shard online on this server, sorted. */
  names: string[];
}

/** FNV-1a of the name, modulo `shards`: the same shard on every server and client. */
export function shardOf(name: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % shards;
}

interface Published {
  key: string;
  at: number;
}

/** What this server published last, per shard; `plan` says what to publish now. */
export class BatchPlanner {
  private readonly published = new Map<number, Published>();

  constructor(private readonly opts: PresenceBatchOptions) {}

  /** The batches due at `now`, given the names online on this server now. */
  plan(online: Iterable<string>, now: number): Batch[] {
    const current = new Map<number, string[]>();
    for (const name of online) {
      const shard = shardOf(name, this.opts.shards);
      const list = current.get(shard);
      if (list) list.push(name);
      else current.set(shard, [name]);
    }
    const due: Batch[] = [];
    for (const [shard, names] of current) {
      names.sort();
      const key = names.join('\n');
      const last = this.published.get(shard);
      if (!last || last.key !== key || now - last.at >= this.opts.refreshMs)
        due.push({ shard, names });
    }
    // A shard that had devices and has none now is published empty once.
    for (const [shard, last] of this.published)
      if (!current.has(shard) && last.key !== '') due.push({ shard, names: [] });
    return due;
  }

  /** `batch` was written at `at`. */
  done(batch: Batch, at: number): void {
    if (batch.names.length === 0) this.published.delete(batch.shard);
    else this.published.set(batch.shard, { key: batch.names.join('\n'), at });
  }
}
