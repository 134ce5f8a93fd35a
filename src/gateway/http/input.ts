const EMPTY = Buffer.alloc(0);
const MIN_STORE = 16 * 1024;

/**
 * The unconsumed bytes of one direction of a connection, for the incremental parsers.
 *
 * A chunk that arrives when everything before it was consumed is adopted as is (no copy:
 * the common case while a body streams). Leftovers are appended into a store that grows by
 * doubling, so input that trickles in a byte at a time costs linear time. Bytes already
 * handed out (body slices still queued on a socket) are never overwritten: compaction
 * always moves into a new store.
 */
export class Input {
  #store: Buffer = EMPTY;
  #owned = false;
  #pos = 0;
  #end = 0;
  #eof = false;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.#pos === this.#end) {
      this.#store = chunk;
      this.#owned = false;
      this.#pos = 0;
      this.#end = chunk.length;
      return;
    }
    if (this.#owned && this.#store.length - this.#end >= chunk.length) {
      chunk.copy(this.#store, this.#end);
      this.#end += chunk.length;
      return;
    }
    const live = this.#end - this.#pos;
    const next = Buffer.allocUnsafe(Math.max(MIN_STORE, 2 * (live + chunk.length)));
    this.#store.copy(next, 0, this.#pos, this.#end);
    chunk.copy(next, live);
    this.#store = next;
    this.#owned = true;
    this.#pos = 0;
    this.#end = live + chunk.length;
  }

  /** The peer sent FIN: no more bytes will come. */
  finish(): void {
    this.#eof = true;
  }

  get eof(): boolean {
    return this.#eof;
  }

  /** Bytes received and not yet consumed: what the reader's flow control watches. */
  get buffered(): number {
    return this.#end - this.#pos;
  }

  /** A view of the unconsumed bytes; index 0 is the next byte. Valid until the next push. */
  view(): Buffer {
    return this.#store.subarray(this.#pos, this.#end);
  }

  skip(n: number): void {
    this.#pos += Math.min(n, this.buffered);
  }

  /** The next `n` bytes (at most what is buffered), consumed. */
  take(n: number): Buffer {
    const len = Math.min(n, this.buffered);
    const out = this.#store.subarray(this.#pos, this.#pos + len);
    this.#pos += len;
    return out;
  }
}
