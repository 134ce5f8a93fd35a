import { badInput } from './errors.js';

/**
 * Field checks shared by the encoders. Every encoder validates what it writes, so a bug in
 * the caller is a clear ROAM_BAD_INPUT here rather than a silently wrapped number on the wire.
 */

export const U16_MAX = 0xffff;
export const U32_MAX = 0xffff_ffff;
/** Largest u48 (6 bytes, big-endian): sequence numbers and byte counts. */
export const U48_MAX = 2 ** 48 - 1;

/** Session ids (connId) and nonces are 16 bytes; keys shares and proofs 32. */
export const ID_LENGTH = 16;
export const KEY_LENGTH = 32;
export const PROOF_LENGTH = 32;

export function checkUint(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw badInput(`${name} must be an integer in 0..${max}, got ${String(value)}`);
  }
}

export function checkBytes(name: string, value: Buffer, length: number): void {
  if (!Buffer.isBuffer(value) || value.length !== length) {
    const got = Buffer.isBuffer(value) ? `${value.length} bytes` : typeof value;
    throw badInput(`${name} must be a Buffer of exactly ${length} bytes, got ${got}`);
  }
}

const ZEROS = Buffer.alloc(64);

/** True when every byte of buf[start, end) is zero (unused fields; at most 64 bytes). */
export function isZero(buf: Buffer, start: number, end: number): boolean {
  return ZEROS.compare(buf, start, end, 0, end - start) === 0;
}
