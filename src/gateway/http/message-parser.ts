import type { RoamError } from '../../errors.js';
import { BodyDecoder, type BodyFraming } from './body-decoder.js';
import { asRoamError } from './errors.js';
import type { HeadLimits } from './head.js';
import type { HeaderField } from './headers.js';
import { Input } from './input.js';
import { HeadReader } from './section.js';

export type BodyEvent =
  /** Decoded body bytes (chunk framing removed); `offset` counts body bytes before them. */
  | { readonly type: 'body'; readonly data: Buffer; readonly offset: number }
  | { readonly type: 'end'; readonly trailers: readonly HeaderField[] };

export type ParserState = 'head' | 'body' | 'upgraded' | 'failed';

/**
 * What the request and response parsers share: the input buffer, the pull loop that turns
 * any error into a failed state (next() then throws the same error again), and the body
 * state. Each subclass reads its own kind of head and decides the body's framing.
 */
export abstract class MessageParser<E extends { readonly type: string }> {
  protected state: ParserState = 'head';
  protected readonly input = new Input();
  protected readonly headReader: HeadReader;
  #decoder: BodyDecoder | undefined;
  #offset = 0;
  #error: RoamError | undefined;

  constructor(
    protected readonly limits: HeadLimits,
    what: string,
    protected readonly fail: (message: string) => RoamError,
  ) {
    this.headReader = new HeadReader(limits.maxHeadBytes, what, fail);
  }

  push(chunk: Buffer): void {
    this.input.push(chunk);
  }

  /** The peer closed its side (a close-delimited body ends here). */
  finish(): void {
    this.input.finish();
  }

  /** Received bytes not yet turned into events. */
  get buffered(): number {
    return this.input.buffered;
  }

  /** The bytes not parsed (after an upgrade, or a request left for later), handed over. */
  takeRemainder(): Buffer {
    return Buffer.from(this.input.take(this.input.buffered));
  }

  /** Push a chunk and yield every event it completes (for tests and simple callers). */
  *events(chunk: Buffer): Generator<E> {
    this.push(chunk);
    for (let ev = this.next(); ev !== undefined; ev = this.next()) yield ev;
  }

  next(): E | undefined {
    if (this.#error !== undefined) throw this.#error;
    try {
      return this.#step();
    } catch (err) {
      this.state = 'failed';
      this.#error = asRoamError(err);
      throw this.#error;
    }
  }

  /** Reads the next head from `input`; undefined until a whole one is there. */
  protected abstract readHead(): E | undefined;

  /** A message's body ended (the response parser moves to the next expected response). */
  protected onBodyEnd(): void {}

  protected startBody(framing: BodyFraming): void {
    this.#decoder = new BodyDecoder(framing, this.limits, this.fail);
    this.#offset = 0;
    this.state = 'body';
  }

  #step(): E | undefined {
    switch (this.state) {
      case 'head':
        return this.readHead();
      case 'body': {
        const ev = this.#decoder?.next(this.input);
        if (ev === undefined) return undefined;
        if (ev.type === 'data') {
          const offset = this.#offset;
          this.#offset += ev.data.length;
          return { type: 'body', data: ev.data, offset } as BodyEvent as unknown as E;
        }
        this.onBodyEnd();
        this.#decoder = undefined;
        this.state = 'head';
        return { type: 'end', trailers: ev.trailers } as BodyEvent as unknown as E;
      }
      case 'upgraded':
      case 'failed':
        return undefined;
    }
  }
}
