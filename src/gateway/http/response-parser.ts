import type { RoamError } from '../../errors.js';
import { BodyDecoder, type BodyFraming } from './body-decoder.js';
import { asRoamError, badResponse } from './errors.js';
import { responseFraming } from './framing.js';
import { type HeadLimits, parseResponseHead, type ResponseHead } from './head.js';
import type { HeaderField } from './headers.js';
import { Input } from './input.js';
import { HeadReader } from './section.js';

export type ResponseEvent =
  /** A 1xx other than 101: relayed, then the final response follows. */
  | { readonly type: 'interim'; readonly head: ResponseHead }
  | {
      readonly type: 'head';
      readonly head: ResponseHead;
      /** 'upgrade': 101 or a 2xx to CONNECT; what follows is raw, see takeRemainder(). */
      readonly framing: BodyFraming | 'upgrade';
    }
  /** Decoded body bytes (chunk framing removed); `offset` counts body bytes before them. */
  | { readonly type: 'body'; readonly data: Buffer; readonly offset: number }
  | { readonly type: 'end'; readonly trailers: readonly HeaderField[] };

/*
 * Incremental HTTP/1.1 response parser: push() bytes, pull events with next(). Pure: no
 * I/O, no timers. Responses are matched in order to the methods given to expect(), which
 * decide framing (a response to HEAD has no body).
 *
 *   head ──1xx──────────────▶ head
 *   head ──final head───────▶ body ──end──▶ head   (next expected response)
 *   head ──101 / CONNECT 2xx─▶ upgraded             (raw bytes: takeRemainder())
 *   any ──malformed input───▶ failed               (next() throws the same error again)
 */
type State = 'head' | 'body' | 'upgraded' | 'failed';

export class ResponseParser {
  #state: State = 'head';
  readonly #input = new Input();
  readonly #limits: HeadLimits;
  readonly #head: HeadReader;
  readonly #expected: string[] = [];
  #decoder: BodyDecoder | undefined;
  #offset = 0;
  #error: RoamError | undefined;

  constructor(limits: HeadLimits) {
    this.#limits = limits;
    this.#head = new HeadReader(limits.maxHeadBytes, 'response head', badResponse);
  }

  /** A request with this method was sent; its response is next in line. */
  expect(method: string): void {
    this.#expected.push(method);
  }

  push(chunk: Buffer): void {
    this.#input.push(chunk);
  }

  /** The server closed its side: a close-delimited body ends here. */
  finish(): void {
    this.#input.finish();
  }

  /** Received bytes not yet turned into events. */
  get buffered(): number {
    return this.#input.buffered;
  }

  /** Between messages with nothing buffered and no response outstanding. */
  get idle(): boolean {
    return this.#state === 'head' && this.#input.buffered === 0 && this.#expected.length === 0;
  }

  get upgraded(): boolean {
    return this.#state === 'upgraded';
  }

  /** After an upgrade: the bytes that followed the head, handed over to the tunnel. */
  takeRemainder(): Buffer {
    return Buffer.from(this.#input.take(this.#input.buffered));
  }

  /** Push a chunk and yield every event it completes (for tests and simple callers). */
  *events(chunk: Buffer): Generator<ResponseEvent> {
    this.push(chunk);
    for (let ev = this.next(); ev !== undefined; ev = this.next()) yield ev;
  }

  next(): ResponseEvent | undefined {
    if (this.#error !== undefined) throw this.#error;
    try {
      return this.#next();
    } catch (err) {
      this.#state = 'failed';
      this.#error = asRoamError(err);
      throw this.#error;
    }
  }

  #next(): ResponseEvent | undefined {
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
        this.#expected.shift();
        this.#decoder = undefined;
        this.#state = 'head';
        return { type: 'end', trailers: ev.trailers };
      }
      case 'upgraded':
      case 'failed':
        return undefined;
    }
  }

  #readHead(): ResponseEvent | undefined {
    if (this.#input.buffered === 0) return undefined;
    const method = this.#expected[0];
    if (method === undefined) throw badResponse('data from the server with no request outstanding');
    const raw = this.#head.read(this.#input);
    if (raw === undefined) return undefined;
    const head = parseResponseHead(raw, this.#limits, badResponse);
    if (head.status >= 100 && head.status < 200 && head.status !== 101) {
      return { type: 'interim', head };
    }
    const framing = responseFraming(method, head, badResponse);
    if (framing === 'upgrade') {
      this.#state = 'upgraded';
    } else {
      this.#decoder = new BodyDecoder(framing, this.#limits, badResponse);
      this.#offset = 0;
      this.#state = 'body';
    }
    return { type: 'head', head, framing };
  }
}
