/**
 * Session sequence numbers: the offset of a byte in one direction of a roam stream.
 *
 * They are plain numbers carried in 48 bits on the wire and never wrap: every value a
 * buffer hands out or accepts (a byte's seq, an end, an acknowledgment) is an integer in
 * [0, MAX_SEQ]. 2^48 bytes is 256 TiB, about 26 days at a steady 1 Gbit/s; a stream that
 * would pass it fails with ROAM_SEQ_EXHAUSTED rather than sending numbers the wire
 * cannot carry.
 */
import { RoamError } from '../errors.js';

export const MAX_SEQ = 2 ** 48 - 1;

/** Throws ROAM_BAD_INPUT unless `value` is a sequence number (an integer in [0, MAX_SEQ]). */
export function assertSeq(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > MAX_SEQ)
    throw new RoamError(
      'ROAM_BAD_INPUT',
      `${what} must be an integer sequence number in [0, 2^48 - 1], got ${value}`,
    );
}

/** Throws ROAM_BAD_INPUT unless `value` is a byte count: a positive safe integer. */
export function assertPositiveSize(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new RoamError('ROAM_BAD_INPUT', `${what} must be a positive integer, got ${value}`);
}
