import { networkInterfaces } from 'node:os';
import { AddressWatcher } from '../../mobility/address-watcher.js';

/** How often a detached session's host checks its own addresses. */
export const LOCAL_POLL_MS = 250;

const listeners = new Set<() => void>();
let watcher: AddressWatcher | undefined;

/**
 * Calls `fn` whenever this host's addresses change, until the returned function is called.
 * For detached sessions connected by name: a client whose address changes while it is
 * detached (the server vanished first, then the client moved) holds a watch stream and
 * kept-alive lookups from its old address, silently dead; they must be reopened. One poll of
 * os.networkInterfaces() per process serves every such session, and runs only while one does.
 */
export function onLocalAddressChange(fn: () => void): () => void {
  listeners.add(fn);
  if (!watcher) {
    watcher = new AddressWatcher({
      mode: 'poll',
      intervalMs: LOCAL_POLL_MS,
      includeInternal: false,
      read: networkInterfaces,
    });
    watcher.on('change', () => {
      for (const l of [...listeners]) l();
    });
    watcher.startPoll();
  }
  return () => {
    listeners.delete(fn);
    if (listeners.size === 0) {
      watcher?.close();
      watcher = undefined;
    }
  };
}
