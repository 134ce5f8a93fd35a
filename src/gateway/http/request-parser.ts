import type { BodyFraming } from './body-decoder.js';
import { badRequest } from './errors.js';
import { requestFraming } from './framing.js';
import { type HeadLimits, parseRequestHead, type RequestHead } from './head.js';
import { type BodyEvent, MessageParser } from './message-parser.js';

export type RequestEvent =
  { readonly type: 'head'; readonly head: RequestHead; readonly framing: BodyFraming } | BodyEvent;

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
export class RequestParser extends MessageParser<RequestEvent> {
  constructor(limits: HeadLimits) {
    super(limits, 'request head', badRequest);
  }

  /** The client closed its side. */
  get eof(): boolean {
    return this.input.eof;
  }

  /** Between requests with nothing buffered. */
  get idle(): boolean {
    return this.state === 'head' && this.input.buffered === 0;
  }

  protected readHead(): RequestEvent | undefined {
    const view = this.input.view();
    let blank = 0;
    while (view[blank] === 0x0a || (view[blank] === 0x0d && view[blank + 1] === 0x0a)) {
      blank += view[blank] === 0x0a ? 1 : 2;
    }
    this.input.skip(blank);
    if (this.input.buffered === 0) return undefined;
    const raw = this.headReader.read(this.input);
    if (raw === undefined) return undefined;
    const head = parseRequestHead(raw, this.limits, badRequest);
    const framing = requestFraming(head, badRequest);
    this.startBody(framing);
    return { type: 'head', head, framing };
  }
}
