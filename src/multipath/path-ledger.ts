import { RoamError } from '../errors.js';

/**
 * What one flowpath was given to carry, for the multipath sender. Every DATA frame sent on
 * the path is a range of the stream [seq, end) plus its place in the path's own byte count
 * (payload bytes, one more for a FIN). The peer reports how many of the path's bytes it has
 * received (PATH_ACK), which settles ranges in order: TCP delivers a path's bytes in order.
 *
 *   sent ──────────────────────────────────────────┐
 *   delivered ─────────────┐                        │
 *   ───────────────────────┼── in flight on this path (kernel buffers, network) ─┤
 *
 * Ranges stay until the path delivers them even when the stream's cumulative ack passed
 * them (a copy arrived on another path): they still occupy this path's queue.
 */
export interface SentRange {
  readonly seq: number;
  readonly end: number;
  /** The path's byte count after this range. */
  readonly pathEnd: number;
  /** Already re-sent on another path once (msocket: at most once in the common case). */
  reinjected: boolean;
}

export class PathLedger {
  #sent = 0;
  #delivered = 0;
  #ranges: SentRange[] = [];
  #head = 0;

  /** Path bytes handed to the socket. */
  get sent(): number {
    return this.#sent;
  }

  /** Path bytes the peer says it received. */
  get delivered(): number {
    return this.#delivered;
  }

  /** Path bytes sent and not yet received: what sits in this path's queues. */
  get inflight(): number {
    return this.#sent - this.#delivered;
  }

  /** Records a frame: the stream range [seq, end) and the path bytes it took. */
  record(seq: number, end: number, pathBytes: number): void {
    this.#sent += pathBytes;
    this.#ranges.push({ seq, end, pathEnd: this.#sent, reinjected: false });
  }

  /**
   * The peer has `received` of this path's bytes. Returns how many are new. More than was
   * sent is a protocol error; fewer than already reported is impossible on one TCP
   * connection, and ignored.
   */
  deliver(received: number): number {
    if (received > this.#sent)
      throw new RoamError(
        'ROAM_PROTOCOL',
        `peer reports ${received} bytes on a flowpath that carried ${this.#sent}`,
      );
    if (received <= this.#delivered) return 0;
    const fresh = received - this.#delivered;
    this.#delivered = received;
    let r = this.#ranges[this.#head];
    while (r !== undefined && r.pathEnd <= received) r = this.#ranges[++this.#head];
    if (this.#head > 256 && this.#head * 2 > this.#ranges.length) {
      this.#ranges = this.#ranges.slice(this.#head);
      this.#head = 0;
    }
    return fresh;
  }

  /** Ranges not yet delivered, in send order, trimmed to start at `ack` or later. */
  *outstanding(ack: number): Generator<SentRange> {
    for (let i = this.#head; i < this.#ranges.length; i++) {
      const r = this.#ranges[i];
      if (r !== undefined && r.end > ack) yield r;
    }
  }

  /** The oldest undelivered range that still holds bytes the stream lacks, if any. */
  oldest(ack: number): SentRange | undefined {
    for (const r of this.outstanding(ack)) return r;
    return undefined;
  }
}
