import { connect, type Socket } from 'node:net';

/**
 * An uplink as the HTTP engine sees it: an id, and the local address that upstream
 * sockets bind to so that policy routing sends them out of that uplink. Health, weights
 * and routing live elsewhere (the gateway's uplink monitor).
 */
export interface Uplink {
  readonly id: string;
  readonly localAddress: string;
}

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface ConnectRequest extends HostPort {
  readonly localAddress: string;
  readonly uplink: Uplink;
}

/** Opens an upstream TCP connection; injectable so tests can wrap or fault sockets. */
export type ConnectFn = (req: ConnectRequest) => Socket;

export const defaultConnect: ConnectFn = ({ host, port, localAddress }) =>
  connect({ host, port, localAddress });

/**
 * Chooses the uplink for a new upstream connection. `excluding` lists uplinks that just
 * failed for this flow; undefined means no uplink can take it.
 */
export type PickUplink = (excluding: readonly string[]) => Uplink | undefined;
