import type { RoamError } from '../../errors.js';
import { BodyDecoder, type BodyFraming } from './body-decoder.js';
import { asRoamError, badRequest } from './errors.js';
import { requestFraming } from './framing.js';
import { type HeadLimits, parseRequestHead, type RequestHead } from './head.js';
import type { HeaderField } from './headers.js';
import { Input } from './input.js';
import { HeadReader } from './section.js';

export type RequestEvent =
  | { readonly type: 'head'; readonly head: RequestHead; readonly framing: BodyFraming }
  | { readonly type: 'body'; readonly data: Buffer; readonly offset: number }
  | { readonly type: 'end'; readonly trailers: readonly HeaderField[] };

/*
 * Incremental HTTP/1.1 request parser for the client side; pure, like ResponseParser.
 * Empty lines before a request line are skipped (RFC 9112 2.2). Request bodies are framed
 * by Content-Length or chunked only; Transfer-Encoding together with Content-Length is
 * rejected (a request-smuggling vector).
 *
 *   head ──head──▶ body ──end──▶ head
 *   any ──malformed input──▶ failed   (next() throws the same error again)
 *
 * The caller decides when to pull the next request: a pipelined request waits, unparsed,
 * in the buffer until the caller asks for it (or takes it raw with takeRemainder()).
 */
type State = 'head' | 'body' | 'failed';

export class RequestParser {
  #state: State = 'head';
  readonly #input = new Input();
  readonly #limits: HeadLimits;
  readonly #head: HeadReader;
  #decoder: BodyDecoder | undefined;
  #offset = 0;
  #error: RoamError | undefined;

  constructor(limits: HeadLimits) {
    this.#limits = limits;
    this.#head = new HeadReader(limits.maxHeadBytes, 'request head', badRequest);
  }

  push(chunk: Buffer): void {
    this.#input.push(chunk);
  }

  finish(): void {
    this.#input.finish();
  }

  get buffered(): number {
    return this.#input.buffered;
  }

  /** The client closed its side. */
  get eof(): boolean {
    return this.#input.eof;
  }

  /** Between requests with nothing buffered. */
  get idle(): boolean {
    return this.#state === 'head' && this.#input.buffered === 0;
  }

  takeRemainder(): Buffer {
    return Buffer.from(this.#input.take(this.#input.buffered));
  }

  *events(chunk: Buffer): Generator<RequestEvent> {
    this.push(chunk);
    for (let ev = this.next(); ev !== undefined; ev = this.next()) yield ev;
  }

  next(): RequestEvent | undefined {
    if (this.#error !== undefined) throw this.#error;
    try {
      return this.#next();
    } catch (err) {
      this.#state = 'failed';
      this.#error = asRoamError(err);
      throw this.#error;
    }
  }

  #next(): RequestEvent | undefined {
    switch (this.#state) {
      case 'head':
        return this.#readHead();
      case 'body': {
        const ev = this.#decoder?.next(this.#input);
        if (ev === undefined) return undefined;
        if (ev.type === 'data') {
          const offset = this.#offset;
          this.#offset += ev.data.length;
          return { type: 'body', data: ev.data, offset };
        }
        this.#decoder = undefined;
        this.#state = 'head';
        return { type: 'end', trailers: ev.trailers };
      }
      case 'failed':
        return undefined;
    }
  }

  #readHead(): RequestEvent | undefined {
    const view = this.#input.view();
    let blank = 0;
    while (view[blank] === 0x0a || (view[blank] === 0x0d && view[blank + 1] === 0x0a)) {
      blank += view[blank] === 0x0a ? 1 : 2;
    }
    this.#input.skip(blank);
    if (this.#input.buffered === 0) return undefined;
    const raw = this.#head.read(this.#input);
    if (raw === undefined) return undefined;
    const head = parseRequestHead(raw, this.#limits, badRequest);
    const framing = requestFraming(head, badRequest);
    this.#decoder = new BodyDecoder(framing, this.#limits, badRequest);
    this.#offset = 0;
    this.#state = 'body';
    return { type: 'head', head, framing };
  }
}
