import type { BodyFraming } from './body-decoder.js';
import { badResponse } from './errors.js';
import { responseFraming } from './framing.js';
import { type HeadLimits, parseResponseHead, type ResponseHead } from './head.js';
import { type BodyEvent, MessageParser } from './message-parser.js';

export type ResponseEvent =
  /** A 1xx other than 101: relayed, then the final response follows. */
  | { readonly type: 'interim'; readonly head: ResponseHead }
  | {
      readonly type: 'head';
      readonly head: ResponseHead;
      /** 'upgrade': 101 or a 2xx to CONNECT; what follows is raw, see takeRemainder(). */
      readonly framing: BodyFraming | 'upgrade';
    }
  | BodyEvent;

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
export class ResponseParser extends MessageParser<ResponseEvent> {
  readonly #expected: string[] = [];

  constructor(limits: HeadLimits) {
    super(limits, 'response head', badResponse);
  }

  /** A request with this method was sent; its response is next in line. */
  expect(method: string): void {
    this.#expected.push(method);
  }

  /** Between messages with nothing buffered and no response outstanding. */
  get idle(): boolean {
    return this.state === 'head' && this.input.buffered === 0 && this.#expected.length === 0;
  }

  get upgraded(): boolean {
    return this.state === 'upgraded';
  }

  protected override onBodyEnd(): void {
    this.#expected.shift();
  }

  protected readHead(): ResponseEvent | undefined {
    if (this.input.buffered === 0) return undefined;
    const method = this.#expected[0];
    if (method === undefined) throw badResponse('data from the server with no request outstanding');
    const raw = this.headReader.read(this.input);
    if (raw === undefined) return undefined;
    const head = parseResponseHead(raw, this.limits, badResponse);
    if (head.status >= 100 && head.status < 200 && head.status !== 101) {
      return { type: 'interim', head };
    }
    const framing = responseFraming(method, head, badResponse);
    if (framing === 'upgrade') this.state = 'upgraded';
    else this.startBody(framing);
    return { type: 'head', head, framing };
  }
}
