/** IPv4 address arithmetic for topology validation and renumbering. Pure. */

export interface Cidr {
  ip: string;
  prefixLen: number;
}

export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    value = value * 256 + n;
  }
  return value;
}

export function formatIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

export function parseCidr(text: string): Cidr | undefined {
  const [ip, len, extra] = text.split('/');
  if (ip === undefined || len === undefined || extra !== undefined) return undefined;
  if (parseIpv4(ip) === undefined || !/^\d{1,2}$/.test(len)) return undefined;
  const prefixLen = Number(len);
  if (prefixLen < 8 || prefixLen > 30) return undefined;
  return { ip, prefixLen };
}

function mask(prefixLen: number): number {
  return prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
}

export function networkOf(cidr: Cidr): string {
  return `${formatIpv4(((parseIpv4(cidr.ip) ?? 0) & mask(cidr.prefixLen)) >>> 0)}/${cidr.prefixLen}`;
}

export function sameSubnet(a: Cidr, ip: string): boolean {
  const m = mask(a.prefixLen);
  const x = parseIpv4(a.ip);
  const y = parseIpv4(ip);
  return x !== undefined && y !== undefined && (x & m) >>> 0 === (y & m) >>> 0;
}

/** True for the network and broadcast addresses of the subnet, which hosts cannot use. */
export function isReserved(cidr: Cidr): boolean {
  const m = mask(cidr.prefixLen);
  const x = parseIpv4(cidr.ip) ?? 0;
  const host = (x & ~m) >>> 0;
  return host === 0 || host === ~m >>> 0;
}

/** The next usable address of the subnet after `cidr.ip` (wrapping around), not in `taken`. */
export function nextFreeAddress(cidr: Cidr, taken: ReadonlySet<string>): string | undefined {
  const m = mask(cidr.prefixLen);
  const base = ((parseIpv4(cidr.ip) ?? 0) & m) >>> 0;
  const size = (~m >>> 0) + 1;
  const start = (parseIpv4(cidr.ip) ?? 0) - base;
  for (let i = 1; i < size - 1; i++) {
    const candidate = formatIpv4(base + ((start - 1 + i) % (size - 2)) + 1);
    if (!taken.has(candidate)) return candidate;
  }
  return undefined;
}
