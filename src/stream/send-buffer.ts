/**
 * The output buffer of one direction of a roam session: a retransmission queue holding the
 * suffix of the byte stream from the oldest byte the peer has not acknowledged (msocket
 * §III-B2). Bytes leave only when the peer acknowledges them, so when a flowpath dies the
 * session resends from whatever the peer says it has, on any flowpath.
 *
 *   startSeq                                   endSeq
 *      │ sent or not, unacknowledged: `size` bytes │
 *      ▼                                            ▼
 *   ───┬──────────┬───────────────────┬────────────┬───
 *      │ chunk    │ chunk             │ chunk      │
 *   ───┴──────────┴───────────────────┴────────────┴───
 *
 * Chunks are stored as given (zero copy) in a deque, so `ack` and `slices` cost only the
 * chunks they touch. `full` is the backpressure signal: the writer waits until acks free
 * room. A partially acknowledged chunk stays in memory until all of it is acknowledged.
 */
import { RoamError } from '../errors.js';
import { MAX_SEQ, assertPositiveSize, assertSeq } from './seq.js';

interface Chunk {
  /** Sequence number of data[0]. */
  readonly seq: number;
  /** Never empty. */
  readonly data: Buffer;
}

/** Compact the deque once this many chunks are dead and they are at least half of it. */
const COMPACT_AFTER = 1024;

export class SendBuffer {
  /** Bytes the buffer holds before `full` says the writer must wait. */
  readonly limit: number;
  #chunks: (Chunk | undefined)[] = [];
  #head = 0;
  #start: number;
  #end: number;

  constructor(limitBytes: number, startSeq = 0) {
    assertPositiveSize(limitBytes, 'SendBuffer limitBytes');
    assertSeq(startSeq, 'SendBuffer startSeq');
    this.limit = limitBytes;
    this.#start = startSeq;
    this.#end = startSeq;
  }

  /** The oldest byte not yet acknowledged by the peer. */
  get startSeq(): number {
    return this.#start;
  }

  /** The sequence number after the last byte appended. */
  get endSeq(): number {
    return this.#end;
  }

  /** Unacknowledged bytes held: endSeq - startSeq. */
  get size(): number {
    return this.#end - this.#start;
  }

  /** The writer must wait (backpressure) until acknowledgments bring size under limit. */
  get full(): boolean {
    return this.size >= this.limit;
  }

  /**
   * Queue `chunk` at endSeq. The buffer keeps the Buffer itself: the caller must not modify
   * or reuse it. Allowed when full (one chunk may overshoot the limit); the session checks
   * `full` before accepting more from the application.
   */
  append(chunk: Buffer): void {
    if (!Buffer.isBuffer(chunk))
      throw new RoamError('ROAM_BAD_INPUT', 'SendBuffer.append takes a Buffer');
    if (chunk.length === 0) return;
    if (this.#end + chunk.length > MAX_SEQ)
      throw new RoamError(
        'ROAM_SEQ_EXHAUSTED',
        'this session has carried 2^48 bytes in one direction; open a new session',
      );
    this.#chunks.push({ seq: this.#end, data: chunk });
    this.#end += chunk.length;
  }

  /**
   * The peer has every byte before `seq`: free them. Returns the bytes freed. An
   * acknowledgment at or before startSeq is stale (acks may arrive out of order across
   * flowpaths) and frees nothing.
   */
  ack(seq: number): number {
    assertSeq(seq, 'acknowledged seq');
    if (seq > this.#end)
      throw new RoamError(
        'ROAM_PROTOCOL',
        `peer acknowledged bytes never sent: ack ${seq}, sent up to ${this.#end}`,
      );
    if (seq <= this.#start) return 0;
    const freed = seq - this.#start;
    // Drop the chunks wholly acknowledged; a partly acknowledged one stays as it is.
    for (let c = this.#chunks[this.#head]; c && c.seq + c.data.length <= seq;) {
      this.#chunks[this.#head] = undefined; // let the Buffer be collected now
      c = this.#chunks[++this.#head];
    }
    this.#start = seq;
    this.#compact();
    return freed;
  }

  /**
   * The bytes [fromSeq, min(endSeq, fromSeq + maxBytes)) as zero-copy views of the stored
   * chunks, in order. `fromSeq` is usually what the peer says it has, so one outside
   * [startSeq, endSeq] is a protocol error: the peer claims to lack bytes it acknowledged,
   * or to have bytes never sent. `maxBytes` may be Infinity.
   */
  slices(fromSeq: number, maxBytes: number): Buffer[] {
    assertSeq(fromSeq, 'slices fromSeq');
    if (!(maxBytes >= 0) || (!Number.isInteger(maxBytes) && maxBytes !== Infinity))
      throw new RoamError(
        'ROAM_BAD_INPUT',
        `slices maxBytes must be a non-negative integer or Infinity, got ${maxBytes}`,
      );
    if (fromSeq < this.#start || fromSeq > this.#end)
      throw new RoamError(
        'ROAM_PROTOCOL',
        `cannot resend from ${fromSeq}: the send buffer holds [${this.#start}, ${this.#end})`,
      );
    const stop = Math.min(this.#end, fromSeq + maxBytes);
    const out: Buffer[] = [];
    if (stop === fromSeq) return out;
    for (let i = this.#find(fromSeq); i < this.#chunks.length; i++) {
      const c = this.#chunks[i];
      if (c === undefined || c.seq >= stop) break;
      const lo = Math.max(fromSeq, c.seq) - c.seq;
      const hi = Math.min(stop, c.seq + c.data.length) - c.seq;
      out.push(lo === 0 && hi === c.data.length ? c.data : c.data.subarray(lo, hi));
    }
    return out;
  }

  /** Index of the chunk holding `seq` (the last chunk starting at or before it). */
  #find(seq: number): number {
    let lo = this.#head;
    let hi = this.#chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      const c = this.#chunks[mid];
      if (c !== undefined && c.seq <= seq) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  #compact(): void {
    if (this.#head === this.#chunks.length) {
      this.#chunks = [];
      this.#head = 0;
    } else if (this.#head >= COMPACT_AFTER && this.#head * 2 >= this.#chunks.length) {
      this.#chunks = this.#chunks.slice(this.#head);
      this.#head = 0;
    }
  }
}
