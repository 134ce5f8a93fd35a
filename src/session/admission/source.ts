import { isIPv4, isIPv6 } from 'node:net';

/**
 * The unit per-source limits count in: an IPv4 address (or prefix) or an IPv6 prefix, as a
 * string key. An IPv4-mapped IPv6 address ("::ffff:10.0.0.1", what a dual-stack listener
 * reports) is its IPv4 address. Unknown input (a socket already gone) is one shared key,
 * so it can never escape the limits.
 */
export function sourceKey(address: string | undefined, v4Bits = 32, v6Bits = 64): string {
  if (address === undefined) return '?';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const v4 = mapped?.[1] ?? address;
  if (isIPv4(v4)) {
    if (v4Bits >= 32) return v4;
    const n = v4.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
    const masked = v4Bits === 0 ? 0 : (n - (n % 2 ** (32 - v4Bits))) >>> 0;
    const dotted = [24, 16, 8, 0].map((s) => (masked >>> s) & 0xff).join('.');
    return `${dotted}/${v4Bits}`;
  }
  if (isIPv6(address)) {
    const groups = expandV6(address);
    let bits = v6Bits;
    const kept = groups.map((g) => {
      const take = Math.max(0, Math.min(16, bits));
      bits -= take;
      return take === 16 ? g : take === 0 ? 0 : g & (0xffff << (16 - take)) & 0xffff;
    });
    return `${kept.map((g) => g.toString(16)).join(':')}/${v6Bits}`;
  }
  return '?';
}

function expandV6(address: string): number[] {
  const bare = address.split('%')[0] ?? address; // a zone id says nothing about the source
  const [head = '', tail] = bare.split('::');
  const parse = (s: string): number[] => (s === '' ? [] : s.split(':').flatMap(part));
  const h = parse(head);
  const t = tail === undefined ? [] : parse(tail);
  return [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
}

/** One colon group, or the two groups of an embedded dotted IPv4 tail. */
function part(s: string): number[] {
  if (s.includes('.')) {
    const b = s.split('.').map(Number);
    return [((b[0] ?? 0) << 8) | (b[1] ?? 0), ((b[2] ?? 0) << 8) | (b[3] ?? 0)];
  }
  return [parseInt(s, 16)];
}
