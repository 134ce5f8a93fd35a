import type { Socket } from 'node:net';
import { Fifo } from './fifo.js';
import type { PathParams } from './options.js';
import { Waker } from './waker.js';

/** Rate pacing is only as smooth as the pieces it schedules. */
export const MAX_PIECE_BYTES = 16 * 1024;

interface Piece {
  buf: Buffer;
  /** When the emulator read it (enters the bottleneck queue). */
  arrival: number;
  /** When it reaches the far side: set when it leaves the bottleneck. */
  release: number;
}

/** How a direction reports to its link; the link keeps the totals. */
export interface DirectionHooks {
  delivered(bytes: number): void;
  dropped(bytes: number): void;
  queued(delta: number, nowQueued: number): void;
  backpressure(paused: boolean): void;
}

export interface DirectionOptions {
  /** Live reference: setDelay/setRate mutate it and then call kick(). */
  params: PathParams;
  bufferBytes: number;
  now: () => number;
  isStalled: () => boolean;
  hooks: DirectionHooks;
}

/**
 * One direction of one connection: bytes read from `src` pass a bottleneck of
 * params.rateBitsPerSec, then a propagation delay of params.delayMs, then are written to `dst`.
 * release = max(bottleneckFreeAt, arrival) + size*8/rate + delay, kept FIFO. The bottleneck
 * runs on a virtual clock (freeAt), so a late timer never lowers the throughput.
 */
export class Direction {
  readonly #src: Socket;
  readonly #dst: Socket;
  readonly #o: DirectionOptions;
  readonly #waker: Waker;
  readonly #bottleneck = new Fifo<Piece>();
  readonly #propagating = new Fifo<Piece>();
  #queued = 0;
  #freeAt = Number.NEGATIVE_INFINITY;
  #lastRelease = Number.NEGATIVE_INFINITY;
  #readerPaused = false;
  #awaitingDrain = false;
  #srcEnded = false;
  #endSent = false;
  #stopped = false;

  constructor(src: Socket, dst: Socket, options: DirectionOptions) {
    this.#src = src;
    this.#dst = dst;
    this.#o = options;
    this.#waker = new Waker(() => this.#pump(), options.now);
    // A client that half-closed while its connection was held (stall) has already ended.
    this.#srcEnded = src.readableEnded;
    src.on('data', (chunk: Buffer) => this.#onData(chunk));
    src.on('end', () => {
      this.#srcEnded = true;
      this.#pump();
    });
    dst.on('drain', () => {
      this.#awaitingDrain = false;
      this.#pump();
    });
    if (this.#srcEnded) this.#pump();
  }

  get queuedBytes(): number {
    return this.#queued;
  }

  /** Re-evaluate now: after resume() or a change of rate or delay. */
  kick(): void {
    this.#pump();
  }

  /** Black hole: everything in flight vanishes; see docs/emulated-link.md. */
  stall(): void {
    this.#waker.cancel();
    const lost = this.#queued;
    this.#bottleneck.clear();
    this.#propagating.clear();
    this.#freeAt = Number.NEGATIVE_INFINITY;
    this.#lastRelease = Number.NEGATIVE_INFINITY;
    this.#setQueued(-lost);
    if (lost > 0) this.#o.hooks.dropped(lost);
    this.#unpauseReader();
  }

  /** Stop forwarding for good (cut, teardown, close): drops the queue, cancels the timer. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#waker.cancel();
    this.#bottleneck.clear();
    this.#propagating.clear();
    this.#setQueued(-this.#queued);
    this.#unpauseReader(); // keep draining the kernel so a FIN close does not turn into RST
  }

  #onData(chunk: Buffer): void {
    if (this.#stopped) return;
    if (this.#o.isStalled()) {
      this.#o.hooks.dropped(chunk.length);
      return;
    }
    const arrival = this.#o.now();
    for (let off = 0; off < chunk.length; off += MAX_PIECE_BYTES) {
      const buf = chunk.subarray(off, off + MAX_PIECE_BYTES);
      this.#bottleneck.push({ buf, arrival, release: 0 });
    }
    this.#setQueued(chunk.length);
    if (this.#queued > this.#o.bufferBytes && !this.#readerPaused) {
      this.#readerPaused = true;
      this.#src.pause();
      this.#o.hooks.backpressure(true);
    }
    this.#pump();
  }

  #pump(): void {
    if (this.#stopped || this.#o.isStalled()) return;
    const now = this.#o.now();
    const { delayMs, rateBitsPerSec } = this.#o.params;
    let nextFinish = Number.POSITIVE_INFINITY;
    for (let p = this.#bottleneck.peek(); p !== undefined; p = this.#bottleneck.peek()) {
      const finish = Math.max(p.arrival, this.#freeAt) + (p.buf.length * 8000) / rateBitsPerSec;
      if (finish > now) {
        nextFinish = finish;
        break;
      }
      this.#bottleneck.shift();
      this.#freeAt = finish;
      p.release = Math.max(finish + delayMs, this.#lastRelease);
      this.#lastRelease = p.release;
      this.#propagating.push(p);
    }
    for (let p = this.#propagating.peek(); p !== undefined; p = this.#propagating.peek()) {
      if (this.#awaitingDrain || p.release > now) break;
      this.#propagating.shift();
      this.#deliver(p.buf);
    }
    if (this.#readerPaused && this.#queued <= this.#o.bufferBytes / 2) this.#unpauseReader();
    if (this.#srcEnded && this.#queued === 0 && !this.#endSent) {
      this.#endSent = true;
      if (!this.#dst.destroyed) this.#dst.end(); // half-close, after everything queued
    }
    const head = this.#awaitingDrain ? undefined : this.#propagating.peek();
    const nextRelease = head?.release ?? Number.POSITIVE_INFINITY;
    // Only deliveries need sub-millisecond precision; see waker.ts.
    if (nextRelease <= nextFinish && nextRelease < Number.POSITIVE_INFINITY) {
      this.#waker.arm(nextRelease, true);
    } else if (nextFinish < Number.POSITIVE_INFINITY) {
      this.#waker.arm(nextFinish, false);
    } else {
      this.#waker.cancel();
    }
  }

  #deliver(buf: Buffer): void {
    this.#setQueued(-buf.length);
    if (this.#dst.destroyed || this.#dst.writableEnded) return; // pair is being torn down
    this.#o.hooks.delivered(buf.length);
    if (!this.#dst.write(buf)) this.#awaitingDrain = true;
  }

  #setQueued(delta: number): void {
    if (delta === 0) return;
    this.#queued += delta;
    this.#o.hooks.queued(delta, this.#queued);
  }

  #unpauseReader(): void {
    if (!this.#readerPaused) return;
    this.#readerPaused = false;
    this.#src.resume();
    this.#o.hooks.backpressure(false);
  }
}
