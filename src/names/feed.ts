import { isRoamError, type RoamError } from '../errors.js';
import { formatEventId, parseEventId } from './protocol.js';
import type { NameStore, StoreEntry, StoreEvent, WatchHandle } from './store/store.js';

/**
 * What a watcher of some names receives, transport-agnostic (the HTTP server frames it as
 * server-sent events). A fresh watch gets a snapshot of the names, then `sync` with the id
 * to resume from, then every new version live. A watch that resumes from an id gets exactly
 * the versions after it, each once, in revision order. If the id is from another store or
 * its history is compacted, `reset` says so and a fresh snapshot follows: the watcher then
 * has the latest version of each name though it may have missed intermediate ones.
 */
export type FeedItem =
  | {
      type: 'put' | 'delete';
      id: string | undefined;
      revision: number;
      name: string;
      value: string;
    }
  | { type: 'sync'; id: string | undefined; revision: number }
  | { type: 'reset'; reason: string };

export interface FeedFilter {
  names: readonly string[];
  owners: readonly string[];
}

export async function openFeed(
  store: NameStore,
  filter: FeedFilter,
  lastEventId: string | undefined,
  emit: (item: FeedItem) => void,
  /** The store ended the watch by itself (see NameStore.watch): the feed is over. */
  onBroken?: (err: RoamError) => void,
): Promise<WatchHandle> {
  const names = new Set(filter.names);
  const owners = new Set(filter.owners);
  const listener = (e: StoreEvent) => {
    // A physical delete is the store's garbage collection of an expired record or an old
    // tombstone: not a signed change, so not news for watchers.
    if (e.type !== 'put' || e.value === undefined) return;
    if (!names.has(e.name) && !owners.has(e.owner)) return;
    emit(item(e.name, e.value, e.revision, formatEventId(store.id, e.revision)));
  };
  const resume = parseEventId(lastEventId);
  if (lastEventId !== undefined) {
    if (resume?.storeId === store.id) {
      try {
        const handle = await store.watch(resume.revision, listener, onBroken);
        emit({ type: 'sync', id: undefined, revision: resume.revision });
        return handle;
      } catch (err) {
        if (!isRoamError(err, 'ROAM_NAMES_COMPACTED')) throw err;
        emit({ type: 'reset', reason: err.message });
      }
    } else {
      emit({
        type: 'reset',
        reason: 'the last event id is not from this store; here is a fresh snapshot',
      });
    }
  }
  const snap = await store.snapshot([...names], [...owners]);
  const entries = [...snap.entries].sort((a: StoreEntry, b: StoreEntry) => a.revision - b.revision);
  for (const e of entries) emit(item(e.name, e.value, e.revision, undefined));
  emit({ type: 'sync', id: formatEventId(store.id, snap.revision), revision: snap.revision });
  return store.watch(snap.revision, listener, onBroken);
}

function item(name: string, value: string, revision: number, id: string | undefined): FeedItem {
  return { type: isTombstone(value) ? 'delete' : 'put', id, revision, name, value };
}

// One event reaches every feed that follows its name: the record is parsed once, not per feed.
let lastValue: string | undefined;
let lastTombstone = false;

function isTombstone(value: string): boolean {
  if (value !== lastValue) {
    lastTombstone = (JSON.parse(value) as { deleted?: boolean }).deleted === true;
    lastValue = value;
  }
  return lastTombstone;
}
