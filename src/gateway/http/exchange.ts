import type { BodyFraming } from './body-decoder.js';
import { badResponse } from './errors.js';
import type { RequestHead, ResponseHead } from './head.js';
import { type HeaderList, headerTokens } from './headers.js';
import {
  checkResumed,
  planResume,
  type ResumeOptions,
  type ResumePlan,
  type ResumeVerdict,
} from './resume.js';
import type { ResponseWriter } from './response-writer.js';

export type SpliceKind = 'range' | 'discard' | 'replay' | 'complete';
export type ReRequest = Extract<ResumePlan, { kind: 'range' | 'replay' }>;

/**
 * One request and its response as the client sees them, across however many upstream
 * connections it takes: what a resume needs (the request, the head the client got, the
 * body bytes it has) and where a splice stands (bytes still to discard, where the
 * client's body must end). Writes go through the ResponseWriter; no sockets here.
 */
export class Exchange {
  readonly request: RequestHead;
  readonly requestFraming: BodyFraming;
  readonly writer: ResponseWriter;
  requestDone = false;
  responseDone = false;
  /** Both sides allow another request on this client connection afterwards. */
  keepAlive = false;
  /** The re-request in flight while the flow is resuming. */
  reRequest: ReRequest | undefined;
  /** Re-requests for this response so far. */
  attempts = 0;
  /** When the failure behind the pending splice happened; cleared once spliced. */
  failedAt: number | undefined;
  /** Cancels the resume or discard deadline. */
  cancelTimer: (() => void) | undefined;
  /** The response head the client received. */
  #response: ResponseHead | undefined;
  #skip = 0;
  #end: number | undefined;
  #cutAtEnd = false;
  #migrated = false;
  #pending: SpliceKind | undefined;
  readonly #spliced: (kind: SpliceKind) => void;

  constructor(
    request: RequestHead,
    requestFraming: BodyFraming,
    writer: ResponseWriter,
    spliced: (kind: SpliceKind) => void,
  ) {
    this.request = request;
    this.requestFraming = requestFraming;
    this.writer = writer;
    this.#spliced = spliced;
  }

  /** Still discarding the prefix of a 200 that ignored Range. */
  get catchingUp(): boolean {
    return this.#skip > 0;
  }

  plan(opts: ResumeOptions): ResumePlan {
    return planResume(
      {
        request: this.request,
        requestHasBody: this.requestFraming.kind !== 'none',
        response: this.#response,
        delivered: this.writer.delivered,
      },
      opts,
    );
  }

  /** The first (or a replay's) response head: goes to the client as received. */
  head(head: ResponseHead, framing: BodyFraming): boolean {
    if (this.reRequest?.kind === 'replay') {
      this.#spliced('replay');
      this.failedAt = undefined;
    }
    this.reRequest = undefined;
    this.#response = head;
    this.keepAlive = keepsAlive(this.request, head, framing);
    return this.writer.head(head.raw, framing);
  }

  /** Judge a Range re-request's response head; when it fits, relay its body next. */
  resumed(
    head: ResponseHead,
    framing: BodyFraming | 'upgrade',
    opts: ResumeOptions,
  ): ResumeVerdict {
    const target = this.reRequest?.kind === 'range' ? this.reRequest.target : undefined;
    if (target === undefined) return { kind: 'reject', reason: 'no re-request outstanding' };
    const verdict = checkResumed(target, head, framing, opts);
    if (verdict.kind === 'reject') return verdict;
    this.reRequest = undefined;
    this.#migrated = true;
    if (verdict.kind === 'complete') {
      this.#spliced('complete');
      this.failedAt = undefined;
      return verdict;
    }
    this.#skip = verdict.kind === 'discard' ? verdict.skip : 0;
    this.#end = verdict.end;
    this.#cutAtEnd = verdict.kind === 'discard';
    this.#pending = verdict.kind === 'splice' ? 'range' : 'discard';
    return verdict;
  }

  /**
   * Body bytes from the current upstream. 'cut': the client's body is complete before the
   * upstream's (a discard splice inside a client range); stop reading that upstream.
   */
  body(data: Buffer): 'more' | 'hold' | 'cut' {
    let d = data;
    if (this.#skip > 0) {
      const n = Math.min(this.#skip, d.length);
      this.#skip -= n;
      d = d.subarray(n);
      if (d.length === 0) return 'more';
    }
    let cut = false;
    if (this.#end !== undefined) {
      const room = this.#end - this.writer.delivered;
      if (d.length >= room && this.#cutAtEnd) {
        d = d.subarray(0, room);
        cut = true;
      } else if (d.length > room) {
        throw badResponse('the resumed response is longer than its Content-Range');
      }
    }
    if (this.#pending !== undefined && d.length > 0) {
      this.#spliced(this.#pending);
      this.#pending = undefined;
      this.failedAt = undefined;
    }
    const ok = this.writer.body(d);
    if (cut) return 'cut';
    return ok ? 'more' : 'hold';
  }

  /** The upstream's body ended: complete the client's, unless it fell short. */
  end(trailers: HeaderList): boolean {
    if (this.#skip > 0) throw badResponse('the response ended before catching up');
    if (this.#end !== undefined && this.writer.delivered !== this.#end) {
      throw badResponse(`the resumed body ended at ${this.writer.delivered}, not ${this.#end}`);
    }
    return this.complete(this.#migrated ? [] : trailers);
  }

  /** The client has the whole body: finish its framing. */
  complete(trailers: HeaderList = []): boolean {
    this.responseDone = true;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    return this.writer.end(trailers);
  }
}

/** May the client connection carry another request after this response? */
export function keepsAlive(req: RequestHead, res: ResponseHead, framing: BodyFraming): boolean {
  if (framing.kind === 'close') return false;
  const reqTokens = headerTokens(req.headers, 'connection');
  const resTokens = headerTokens(res.headers, 'connection');
  if (reqTokens.includes('close') || resTokens.includes('close')) return false;
  if (req.version === '1.0' && !reqTokens.includes('keep-alive')) return false;
  if (res.version === '1.0' && !resTokens.includes('keep-alive')) return false;
  return true;
}
