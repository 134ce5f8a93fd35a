import type { NetworkInterfaceInfo } from 'node:os';

/** One address of this host: the interface it is on, the address and its prefix length. */
export interface LocalAddress {
  interface: string;
  address: string;
  family: 4 | 6;
  prefixLength: number;
}

export interface AddressChange {
  added: LocalAddress[];
  removed: LocalAddress[];
}

/**
 * The host's usable addresses from `os.networkInterfaces()`'s shape (libuv lists only
 * interfaces that are up and running). Pure. Loopback is left out unless asked for, and so are
 * IPv6 link-local addresses (fe80::/10): a peer elsewhere cannot reach them.
 */
export function snapshot(
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>,
  opts: { includeInternal?: boolean } = {},
): LocalAddress[] {
  const out: LocalAddress[] = [];
  for (const [name, infos] of Object.entries(interfaces)) {
    for (const info of infos ?? []) {
      if (info.internal && !opts.includeInternal) continue;
      const family = info.family === 'IPv6' ? 6 : 4;
      if (family === 6 && /^fe[89ab]/i.test(info.address)) continue;
      const prefix = Number(info.cidr?.split('/')[1] ?? (family === 4 ? 32 : 128));
      out.push({ interface: name, address: info.address, family, prefixLength: prefix });
    }
  }
  return out.sort((a, b) => key(a).localeCompare(key(b)));
}

/** What changed from `before` to `after` (a changed prefix counts as removed and added). */
export function diffAddresses(before: LocalAddress[], after: LocalAddress[]): AddressChange {
  const was = new Set(before.map(key));
  const now = new Set(after.map(key));
  return {
    added: after.filter((a) => !was.has(key(a))),
    removed: before.filter((a) => !now.has(key(a))),
  };
}

function key(a: LocalAddress): string {
  return `${a.interface}|${a.address}/${a.prefixLength}`;
}
