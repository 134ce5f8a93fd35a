import type { NamesClient } from '../../names/client/client.js';
import type { NameWatch } from '../../names/client/watch.js';
import type { NameRecord } from '../../names/record.js';

export interface FollowListener {
  /** A new version of the name, verified (deletions included: `record.deleted`). */
  onRecord(record: NameRecord): void;
}

/** One subscription to a shared watch; `close()` when the session ends. */
export interface Follow {
  /** The stream is open and caught up since the last restart: the cache is current. */
  readonly live: boolean;
  /** Reopens the stream now (after a local address change), resuming without a gap. */
  restart(): void;
  close(): void;
}

interface Shared {
  watch: NameWatch;
  listeners: Set<FollowListener>;
  /** `watch.syncs` when it was last restarted: live again once it has synced after that. */
  syncsAtRestart: number;
}

/**
 * Sessions to the same name share one watch per NamesClient: a process with a hundred sessions
 * to one server holds one event stream, not a hundred (the name server bounds streams per
 * source). The watch closes with its last subscriber.
 */
const registry = new WeakMap<NamesClient, Map<string, Shared>>();

export function followName(client: NamesClient, name: string, listener: FollowListener): Follow {
  let byName = registry.get(client);
  if (!byName) registry.set(client, (byName = new Map()));
  let shared = byName.get(name);
  if (!shared || shared.watch.state === 'closed') {
    const listeners = new Set<FollowListener>();
    const watch = client.watch([name], (change) => {
      for (const l of listeners) l.onRecord(change.record);
    });
    shared = { watch, listeners, syncsAtRestart: 0 };
    byName.set(name, shared);
  }
  const s = shared;
  s.listeners.add(listener);
  let closed = false;
  return {
    get live() {
      return !closed && s.watch.state === 'open' && s.watch.syncs > s.syncsAtRestart;
    },
    restart() {
      if (closed) return;
      s.syncsAtRestart = s.watch.syncs;
      s.watch.reconnect();
    },
    close() {
      if (closed) return;
      closed = true;
      s.listeners.delete(listener);
      if (s.listeners.size > 0) return;
      s.watch.close();
      if (byName.get(name) === s) byName.delete(name);
    },
  };
}
