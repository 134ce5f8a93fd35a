/**
 * Ranges of the stream that must be sent again because the flowpath that carried them died
 * or is suspect: sorted, disjoint, merged. Sent from the lowest first (the receiver's
 * head-of-line gap), before any new data. Trimmed by the cumulative acknowledgment.
 */
export class ResendQueue {
  #ranges: { seq: number; end: number }[] = [];

  get bytes(): number {
    let n = 0;
    for (const r of this.#ranges) n += r.end - r.seq;
    return n;
  }

  get empty(): boolean {
    return this.#ranges.length === 0;
  }

  add(seq: number, end: number): void {
    if (end <= seq) return;
    const out: { seq: number; end: number }[] = [];
    let placed = false;
    for (const r of this.#ranges) {
      if (r.end < seq) out.push(r);
      else if (r.seq > end) {
        if (!placed) out.push({ seq, end });
        placed = true;
        out.push(r);
      } else {
        seq = Math.min(seq, r.seq);
        end = Math.max(end, r.end);
      }
    }
    if (!placed) out.push({ seq, end });
    this.#ranges = out;
  }

  /** Drops everything before `ack`. */
  trim(ack: number): void {
    while (this.#ranges.length > 0) {
      const first = this.#ranges[0] as { seq: number; end: number };
      if (first.end <= ack) this.#ranges.shift();
      else {
        if (first.seq < ack) first.seq = ack;
        return;
      }
    }
  }

  /** Takes up to maxBytes from the front. */
  take(maxBytes: number): { seq: number; end: number } | undefined {
    const first = this.#ranges[0];
    if (first === undefined) return undefined;
    const end = Math.min(first.end, first.seq + maxBytes);
    const piece = { seq: first.seq, end };
    if (end === first.end) this.#ranges.shift();
    else first.seq = end;
    return piece;
  }

  clear(): void {
    this.#ranges = [];
  }
}
