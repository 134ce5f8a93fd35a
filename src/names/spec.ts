import { isIP } from 'node:net';
import { namesError } from './codes.js';
import { type Address, IFACES, type Iface } from './record.js';

/**
 * The command line's short forms, parsed purely:
 *   address   IP:PORT[,IFACE[,PRIORITY]]   192.0.2.7:4000,wifi,10   [2001:db8::1]:4000,cellular
 *   endpoint  HOST:PORT                    relay.example.com:443    [2001:db8::1]:9
 *   attribute KEY=VALUE
 */
export function parseHostPort(spec: string, what = 'endpoint'): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(spec);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (!m || !host || !(port >= 1 && port <= 65535))
    throw namesError(
      'ROAM_NAMES_INVALID',
      `${what} "${spec}" is not HOST:PORT (IPv6 in brackets: [::1]:4000)`,
    );
  if (m[1] !== undefined && isIP(host) !== 6)
    throw namesError('ROAM_NAMES_INVALID', `${what} "${spec}": ${host} is not an IPv6 address`);
  return { host, port };
}

export function parseAddressSpec(spec: string): Address {
  const [endpoint = '', iface = 'other', priority = '0', ...extra] = spec.split(',');
  const { host, port } = parseHostPort(endpoint, 'address');
  if (isIP(host) === 0)
    throw namesError('ROAM_NAMES_INVALID', `address "${spec}": ${host} is not an IP address`);
  if (!(IFACES as readonly string[]).includes(iface))
    throw namesError(
      'ROAM_NAMES_INVALID',
      `address "${spec}": interface kind must be one of ${IFACES.join(', ')}`,
    );
  if (extra.length || !/^\d{1,5}$/.test(priority) || Number(priority) > 65535)
    throw namesError(
      'ROAM_NAMES_INVALID',
      `address "${spec}" is not IP:PORT[,IFACE[,PRIORITY 0-65535]]`,
    );
  return { ip: host, port, iface: iface as Iface, priority: Number(priority) };
}

export function parseAttributes(specs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    if (eq <= 0) throw namesError('ROAM_NAMES_INVALID', `attribute "${spec}" is not KEY=VALUE`);
    out[spec.slice(0, eq)] = spec.slice(eq + 1);
  }
  return out;
}
