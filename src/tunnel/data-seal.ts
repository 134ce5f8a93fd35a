import { aeadOpen, aeadSeal } from './noise.js';
import {
  DATA_HEADER_LEN,
  decodeDataHeader,
  decodeInnerHeader,
  encodeDataHeader,
  encodeInnerHeader,
  type InnerHeader,
  INNER_HEADER_LEN,
  isMalformed,
} from './wire.js';

/**
 * Data datagrams in TypeScript: the reference the native data path is tested against
 * (native/tunnel.c does the same per packet), and what tests use to forge and inspect.
 */
export function sealData(opts: {
  key: Buffer;
  receiver: number;
  counter: bigint;
  path: number;
  inner: InnerHeader;
  packet: Buffer;
}): Buffer {
  const header = encodeDataHeader({
    path: opts.path,
    receiver: opts.receiver,
    counter: opts.counter,
  });
  const plaintext = Buffer.concat([encodeInnerHeader(opts.inner), opts.packet]);
  return Buffer.concat([header, aeadSeal(opts.key, opts.counter, header, plaintext)]);
}

export type OpenedData =
  | {
      ok: true;
      path: number;
      receiver: number;
      counter: bigint;
      inner: InnerHeader;
      packet: Buffer;
    }
  | { ok: false; reason: 'malformed' | 'auth' };

/** Authenticates and decrypts; never throws on any input. */
export function openData(key: Buffer, datagram: Buffer): OpenedData {
  const h = decodeDataHeader(datagram);
  if (isMalformed(h)) return { ok: false, reason: 'malformed' };
  const pt = aeadOpen(
    key,
    h.counter,
    datagram.subarray(0, DATA_HEADER_LEN),
    datagram.subarray(DATA_HEADER_LEN),
  );
  if (pt === undefined) return { ok: false, reason: 'auth' };
  const inner = decodeInnerHeader(pt);
  if (isMalformed(inner)) return { ok: false, reason: 'malformed' };
  return { ok: true, ...h, inner, packet: pt.subarray(INNER_HEADER_LEN) };
}
