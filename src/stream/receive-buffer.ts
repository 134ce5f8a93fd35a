/**
 * The input buffer of one direction of a roam session: it puts bytes that arrive out of
 * order (common with several flowpaths, and after a resend) back in stream order
 * (msocket §III-B2).
 *
 *   delivered          nextSeq                           nextSeq + limit
 *   ──────────────────────┤ gap │held│ gap │ held │        │ beyond: protocol error
 *                         ▲
 *                         our cumulative acknowledgment
 *
 * Held segments are kept sorted, disjoint and non-empty, all starting after nextSeq, so
 * every byte is delivered exactly once. Where new data overlaps held data the held copy
 * wins and only the gaps are kept (both copies are the same stream). Segments are views of
 * the payloads given to `insert` (zero copy): the caller must not reuse those Buffers.
 *
 * The window is measured from nextSeq, so held bytes never reach `limit`. Bytes already
 * delivered are the application's to consume; bounding those is the session's job.
 */
import { RoamError } from '../errors.js';
import { MAX_SEQ, assertPositiveSize, assertSeq } from './seq.js';

/** Above this many segments, rebuild the array instead of spreading into splice (stack). */
const SPREAD_MAX = 1024;

interface Segment {
  readonly seq: number;
  readonly data: Buffer;
}

export class ReceiveBuffer {
  /** Window size in bytes: the peer may send bytes up to nextSeq + limit - 1. */
  readonly limit: number;
  #next: number;
  #held: Segment[] = [];
  #buffered = 0;

  constructor(limitBytes: number, startSeq = 0) {
    assertPositiveSize(limitBytes, 'ReceiveBuffer limitBytes');
    assertSeq(startSeq, 'ReceiveBuffer startSeq');
    this.limit = limitBytes;
    this.#next = startSeq;
  }

  /** Every byte before it has been delivered in order: our cumulative acknowledgment. */
  get nextSeq(): number {
    return this.#next;
  }

  /** Out-of-order bytes held, waiting for the gap before them to fill. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Number of held out-of-order segments (each one is a gap's worth of bookkeeping). */
  get segments(): number {
    return this.#held.length;
  }

  /**
   * Accept the bytes [seq, seq + payload.length) from the peer. Returns the bytes that are
   * now deliverable in order: zero or more non-empty pieces, in stream order.
   */
  insert(seq: number, payload: Buffer): Buffer[] {
    assertSeq(seq, 'received seq');
    if (!Buffer.isBuffer(payload))
      throw new RoamError('ROAM_BAD_INPUT', 'ReceiveBuffer.insert takes a Buffer');
    const end = seq + payload.length;
    if (payload.length === 0 || end <= this.#next) return []; // nothing new: a resend
    if (end > this.#next + this.limit || end > MAX_SEQ + 1)
      throw new RoamError(
        'ROAM_PROTOCOL',
        `peer sent beyond the receive window: bytes up to ${end - 1}, ` +
          `window [${this.#next}, ${this.#next + this.limit})`,
      );
    if (seq < this.#next) {
      payload = payload.subarray(this.#next - seq);
      seq = this.#next;
    }
    if (seq > this.#next) {
      this.#hold(seq, payload);
      return [];
    }
    this.#next = end;
    const out = [payload];
    this.#drain(out);
    return out;
  }

  /** After nextSeq moved: drop held bytes it passed, deliver segments now contiguous. */
  #drain(out: Buffer[]): void {
    let i = 0;
    for (; i < this.#held.length; i++) {
      const s = this.#held[i];
      if (s === undefined || s.seq > this.#next) break; // a gap remains
      this.#buffered -= s.data.length;
      const sEnd = s.seq + s.data.length;
      if (sEnd <= this.#next) continue; // wholly delivered already
      out.push(s.seq === this.#next ? s.data : s.data.subarray(this.#next - s.seq));
      this.#next = sEnd;
    }
    if (i > 0) this.#held.splice(0, i);
  }

  /** Keep the parts of [seq, seq + data.length) that no held segment has; seq > nextSeq. */
  #hold(seq: number, data: Buffer): void {
    const end = seq + data.length;
    const first = this.#firstEndingAfter(seq);
    const merged: Segment[] = []; // held segments in [first, j) with the new gaps between
    let added = 0;
    let cursor = seq;
    let j = first;
    const keep = (to: number) => {
      merged.push({ seq: cursor, data: data.subarray(cursor - seq, to - seq) });
      added += to - cursor;
    };
    for (; j < this.#held.length; j++) {
      const s = this.#held[j];
      if (s === undefined || s.seq >= end) break;
      if (s.seq > cursor) keep(s.seq);
      merged.push(s);
      cursor = Math.max(cursor, s.seq + s.data.length);
    }
    if (cursor < end) keep(end);
    if (added === 0) return; // a duplicate of what is held
    this.#buffered += added;
    if (merged.length <= SPREAD_MAX) this.#held.splice(first, j - first, ...merged);
    else this.#held = this.#held.slice(0, first).concat(merged, this.#held.slice(j));
  }

  /** Index of the first held segment that ends after `seq` (held.length if none). */
  #firstEndingAfter(seq: number): number {
    let lo = 0;
    let hi = this.#held.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const s = this.#held[mid];
      if (s !== undefined && s.seq + s.data.length <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
