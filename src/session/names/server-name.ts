import { isIPv6 } from 'node:net';
import { networkInterfaces } from 'node:os';
import { NamesClient, type NamesClientOptions } from '../../names/client/client.js';
import { parseName } from '../../names/name.js';
import type { Iface } from '../../names/record.js';
import { RoamError } from '../../errors.js';
import type { AddressWatcher } from '../../mobility/address-watcher.js';
import { snapshot } from '../../mobility/local-addresses.js';
import { addressesFor, NamePublisher } from '../../mobility/name-publisher.js';
import type { RoamServer } from '../server.js';

export interface ServerNameOptions {
  name: string;
  /** A names client holding the server's key (and `userKey` for a device or child name). */
  names: NamesClient | NamesClientOptions;
  /** The kind of the listening interface, for a specific listening address (default other). */
  iface?: Iface;
  priority?: number;
  /**
   * When listening on a wildcard (0.0.0.0 or ::), the addresses to publish: by default this
   * host's addresses now (from `watcher` if given, and republished when they change).
   */
  watcher?: AddressWatcher;
  attributes?: Record<string, string>;
  ttlMs?: number;
  debounceMs?: number;
}

/**
 * The server's side of naming: publishes its listening address and control-socket address
 * under `name` (signed with the server's key) whenever it starts listening, including after
 * `server.move()`, so clients following the name learn where it went as soon as it is
 * published. Returns the publisher: 'published' and 'error' events, `close()`.
 */
export function publishServerName(server: RoamServer, opts: ServerNameOptions): NamePublisher {
  parseName(opts.name);
  const names = opts.names instanceof NamesClient ? opts.names : new NamesClient(opts.names);
  const fields = () => {
    const at = server.address();
    if (!at)
      throw new RoamError('ROAM_NOT_LISTENING', 'the server is not listening: nothing to publish');
    const control = server.controlAddress();
    const wildcard = at.host === '0.0.0.0' || at.host === '::';
    const addresses = wildcard
      ? addressesFor(opts.watcher?.addresses() ?? snapshot(networkInterfaces()), at.port).filter(
          (a) => at.host === '::' || !isIPv6(a.ip),
        )
      : [
          {
            ip: at.host,
            port: at.port,
            iface: opts.iface ?? 'other',
            priority: opts.priority ?? 10,
          },
        ];
    return {
      addresses,
      ...(control && !wildcard ? { control: { ip: control.host, port: control.port } } : {}),
      ...(opts.attributes ? { attributes: opts.attributes } : {}),
      ...(opts.ttlMs ? { ttlMs: opts.ttlMs } : {}),
    };
  };
  const publisher = new NamePublisher({
    names,
    name: opts.name,
    fields,
    watcher: opts.watcher,
    debounceMs: opts.debounceMs ?? 0,
    onClose: () => {
      server.off('listening', onListening);
      if (!(opts.names instanceof NamesClient)) names.close();
    },
  });
  let last = server.address();
  const onListening = () => {
    const now = server.address();
    // A move: connections to the name server from the old address are silently dead.
    if (last && now && last.host !== now.host) names.dropIdleConnections();
    last = now;
    publisher.update('listening');
  };
  server.on('listening', onListening);
  if (server.address()) publisher.update('listening');
  return publisher;
}
