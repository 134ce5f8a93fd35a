import type { NameRecord } from '../../names/record.js';
import type { Endpoint } from '../options.js';

/**
 * Where a name record says its host listens, best first: by priority (lower is preferred,
 * as with MX and SRV), and in the record's own order between equal priorities. Pure.
 */
export function endpointsOf(record: NameRecord): Endpoint[] {
  return record.addresses
    .map((a, i) => ({ a, i }))
    .sort((x, y) => x.a.priority - y.a.priority || x.i - y.i)
    .map(({ a }) => ({ host: a.ip, port: a.port }));
}

/** True if the record lists host:port among its addresses. */
export function listsEndpoint(record: NameRecord, host: string, port: number): boolean {
  return record.addresses.some((a) => sameHost(a.ip, host) && a.port === port);
}

/** Compares addresses as the socket layer reports them (an IPv4 peer may be ::ffff:a.b.c.d). */
function sameHost(a: string, b: string): boolean {
  const plain = (s: string) => (s.startsWith('::ffff:') ? s.slice(7) : s).toLowerCase();
  return plain(a) === plain(b);
}
