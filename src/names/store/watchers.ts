import { rootLogger } from '../../log/logger.js';
import { namesError } from '../codes.js';
import type { StoreEvent, WatchHandle, WatchListener } from './store.js';

/**
 * The live half of an in-process store's watch: a set of listeners, each called in order.
 * A listener that throws is logged and dropped rather than allowed to break the writer.
 */
export class Watchers {
  private readonly listeners = new Set<WatchListener>();

  add(listener: WatchListener): WatchHandle {
    this.listeners.add(listener);
    return { close: () => this.listeners.delete(listener) };
  }

  emit(event: StoreEvent): void {
    for (const listener of this.listeners) deliver(listener, event, this.listeners);
  }

  get size(): number {
    return this.listeners.size;
  }

  clear(): void {
    this.listeners.clear();
  }
}

export function deliver(
  listener: WatchListener,
  event: StoreEvent,
  listeners?: Set<WatchListener>,
): void {
  try {
    listener(event);
  } catch (err) {
    rootLogger().error({ err, name: event.name }, 'names store watcher failed; dropped');
    listeners?.delete(listener);
  }
}

/** The check every store makes before replaying history from `from`. */
export function checkWatchFrom(from: number, compacted: number, current: number): void {
  if (!Number.isSafeInteger(from) || from < 0)
    throw namesError('ROAM_NAMES_INVALID', `watch revision ${from} is not a revision`);
  if (from < compacted)
    throw namesError(
      'ROAM_NAMES_COMPACTED',
      `revision ${from} is compacted (history starts after ${compacted}); read the names again and watch from the new revision`,
    );
  if (from > current)
    throw namesError(
      'ROAM_NAMES_COMPACTED',
      `revision ${from} is ahead of this store (at ${current}); read the names again and watch from the new revision`,
    );
}
