import type { Writable } from 'node:stream';
import { type HeaderList, serializeFields } from './headers.js';

const CRLF = Buffer.from('\r\n', 'latin1');

/**
 * Chunked transfer coding, encoder side. The engine re-frames every chunked body it
 * relays (decode, then encode again), so after a splice the peer keeps receiving a valid
 * chunked stream whatever framing the new upstream response used.
 */
export function writeChunk(out: Writable, data: Buffer): boolean {
  if (data.length === 0) return true; // an empty chunk would end the body
  out.cork();
  out.write(Buffer.from(`${data.length.toString(16)}\r\n`, 'latin1'));
  out.write(data);
  const ok = out.write(CRLF);
  out.uncork();
  return ok;
}

/** The last chunk and the trailer section. */
export function lastChunk(trailers: HeaderList = []): Buffer {
  return Buffer.from(`0\r\n${serializeFields(trailers)}\r\n`, 'latin1');
}

/** Bytes writeChunk() puts on the wire for `n` body bytes. */
export function chunkOverhead(n: number): number {
  return n === 0 ? 0 : n.toString(16).length + 4;
}
