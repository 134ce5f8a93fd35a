import { isIP } from 'node:net';
import { badInput, malformed } from './errors.js';
import { isZero } from './fields.js';

/**
 * The 19-byte address field of HELLO, WELCOME and control datagrams:
 *
 *   family u8 (0 none, 4 IPv4, 6 IPv6) | address 16 bytes | port u16
 *
 * IPv4 takes the first 4 address bytes; every unused byte is zero, and "none" is 19 zeros,
 * so each address has exactly one encoding. Only literal addresses: no DNS here.
 */

export const ADDR_LENGTH = 19;

export interface Addr {
  /** IPv4 dotted quad or IPv6 text; decoding gives IPv6 in RFC 5952 form. */
  host: string;
  port: number;
}

const FAMILY_NONE = 0;
const FAMILY_V4 = 4;
const FAMILY_V6 = 6;

export function encodeAddr(addr: Addr | null): Buffer {
  const buf = Buffer.alloc(ADDR_LENGTH);
  writeAddr(buf, 0, addr);
  return buf;
}

export function decodeAddr(buf: Buffer): Addr | null {
  if (buf.length !== ADDR_LENGTH) {
    throw malformed(`an address field is ${ADDR_LENGTH} bytes, got ${buf.length}`);
  }
  return readAddr(buf, 0);
}

/** Writes the field at buf[off, off + 19). */
export function writeAddr(buf: Buffer, off: number, addr: Addr | null): void {
  buf.fill(0, off, off + ADDR_LENGTH);
  if (addr === null) return;
  const { host, port } = addr;
  if (!Number.isInteger(port) || port < 1 || port > 0xffff) {
    throw badInput(`address port must be an integer in 1..65535, got ${String(port)}`);
  }
  const family = typeof host === 'string' ? isIP(host) : 0;
  if (family === 4) {
    buf[off] = FAMILY_V4;
    const parts = host.split('.');
    for (let i = 0; i < 4; i++) buf[off + 1 + i] = Number(parts[i]);
  } else if (family === 6 && !host.includes('%')) {
    buf[off] = FAMILY_V6;
    writeIPv6(buf, off + 1, host);
  } else {
    throw badInput(
      `address host must be a literal IPv4 or IPv6 address without a zone, got ${JSON.stringify(host)}`,
    );
  }
  buf.writeUInt16BE(port, off + 17);
}

export function readAddr(buf: Buffer, off: number): Addr | null {
  const family = buf.readUInt8(off);
  const port = buf.readUInt16BE(off + 17);
  if (family === FAMILY_NONE) {
    if (!isZero(buf, off + 1, off + ADDR_LENGTH))
      throw malformed('address "none" is not all zeros');
    return null;
  }
  if (port === 0) throw malformed('address port is 0');
  if (family === FAMILY_V4) {
    if (!isZero(buf, off + 5, off + 17)) throw malformed('IPv4 address has nonzero padding');
    return { host: `${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}.${buf[off + 4]}`, port };
  }
  if (family === FAMILY_V6) return { host: formatIPv6(buf, off + 1), port };
  throw malformed(`unknown address family ${family}`);
}

/** host has passed isIP() === 6: at most one "::", hex groups, maybe a dotted IPv4 tail. */
function writeIPv6(buf: Buffer, off: number, host: string): void {
  let text = host;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const [a = 0, b = 0, c = 0, d = 0] = tail.split('.').map(Number);
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [left = '', right] = text.split('::');
  const head = left === '' ? [] : left.split(':');
  const rest = right === undefined || right === '' ? [] : right.split(':');
  const groups = [...head, ...Array<string>(8 - head.length - rest.length).fill('0'), ...rest];
  groups.forEach((g, i) => buf.writeUInt16BE(parseInt(g, 16), off + 2 * i));
}

/** RFC 5952: lowercase, no leading zeros, the first longest run (≥ 2) of zero groups as "::". */
function formatIPv6(buf: Buffer, off: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(off + 2 * i));
  if (isZero(buf, off, off + 10) && groups[5] === 0xffff) {
    return `::ffff:${buf[off + 12]}.${buf[off + 13]}.${buf[off + 14]}.${buf[off + 15]}`;
  }
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = (from: number, to: number) =>
    groups
      .slice(from, to)
      .map((g) => g.toString(16))
      .join(':');
  return best < 0 ? hex(0, 8) : `${hex(0, best)}::${hex(best + bestLen, 8)}`;
}
