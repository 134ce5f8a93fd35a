import type { BodyFraming } from './body-decoder.js';
import { badResponse } from './errors.js';
import { contentLength } from './framing.js';
import { type RequestHead, type ResponseHead, serializeRequestHead } from './head.js';
import { type HeaderList, headerTokens, headerValue, withoutHeaders } from './headers.js';
import {
  type EntityTag,
  parseContentRange,
  parseEntityTag,
  parseHttpDate,
  parseUnsatisfiedRange,
  strongMatch,
} from './validators.js';

/**
 * When a response breaks off, can it be continued from another connection, and does the
 * new response continue it? Pure functions: planResume() builds the re-request,
 * checkResumed() judges the new response head. Rules (docs/gateway-splice.md):
 *
 * - only GET and HEAD without a request body (idempotent: replaying cannot change anything);
 * - nothing delivered yet (no response head): replay the request unchanged;
 * - otherwise only 200 and single-range 206, identity or chunked transfer coding, and a
 *   strong validator: a strong ETag, or a Last-Modified at least 1 s older than Date;
 * - the re-request carries `Range` from the next byte the client needs (rewriting the
 *   client's own range) and `If-Range` with the validator, so changed content yields a 200;
 * - a 206 must start exactly there, end where the original would, keep the complete length
 *   and the validator; a 200 with the same validator means the origin ignores Range: the
 *   prefix is downloaded again and discarded (up to maxDiscardBytes); anything else is
 *   rejected and the client's response ends the way a failed server's would.
 */

/** What the new response has to deliver. Offsets are in the representation. */
export interface ResumeTarget {
  /** Offset of the next byte the client needs. */
  readonly first: number;
  /** Offset of the last byte the client needs, when known. */
  readonly last: number | undefined;
  /** Complete length of the representation, when known. */
  readonly total: number | undefined;
  /** Body bytes the client already has. */
  readonly delivered: number;
  readonly validator: 'etag' | 'last-modified';
  readonly etag: EntityTag | undefined;
  readonly lastModified: number | undefined;
  readonly contentEncoding: string;
}

export type ResumePlan =
  | { readonly kind: 'replay'; readonly head: Buffer }
  | { readonly kind: 'complete' }
  | { readonly kind: 'range'; readonly head: Buffer; readonly target: ResumeTarget }
  | { readonly kind: 'refuse'; readonly reason: string };

export type ResumeVerdict =
  /** Relay the new body as is; `end` is the client's body length once it is complete. */
  | { readonly kind: 'splice'; readonly end: number | undefined }
  /** Drop the first `skip` bytes of the new body, then relay. */
  | { readonly kind: 'discard'; readonly skip: number; readonly end: number | undefined }
  /** The client already has every byte (416 for exactly what was delivered). */
  | { readonly kind: 'complete' }
  | { readonly kind: 'reject'; readonly reason: string };

export interface ResumeInput {
  readonly request: RequestHead;
  readonly requestHasBody: boolean;
  /** The response head the client received, if any. */
  readonly response: ResponseHead | undefined;
  /** Body bytes the client has been given. */
  readonly delivered: number;
}

export interface ResumeOptions {
  /** Most bytes downloaded again and thrown away when the origin ignores Range; 0: never. */
  readonly maxDiscardBytes: number;
}

/** Conditionals of the client that our own If-Range replaces (and Expect: no body follows). */
const REPLACED = [
  'range',
  'if-range',
  'if-match',
  'if-none-match',
  'if-modified-since',
  'if-unmodified-since',
  'expect',
];

export function planResume(input: ResumeInput, opts: ResumeOptions): ResumePlan {
  const { request, response, delivered } = input;
  const refuse = (reason: string): ResumePlan => ({ kind: 'refuse', reason });
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    return refuse(`${request.method} is not idempotent`);
  }
  if (input.requestHasBody) return refuse('the request has a body');
  if (response === undefined) return { kind: 'replay', head: request.raw };
  if (request.method === 'HEAD') return { kind: 'complete' };
  if (response.status !== 200 && response.status !== 206) {
    return refuse(`status ${response.status} is not resumed`);
  }
  if (headerTokens(response.headers, 'transfer-encoding').some((c) => c !== 'chunked')) {
    return refuse('a transfer coding other than chunked');
  }
  const etag = parseEntityTag(headerValue(response.headers, 'etag'));
  const lastModified = strongLastModified(response.headers);
  const validator = etag !== undefined && !etag.weak ? 'etag' : 'last-modified';
  if (validator === 'last-modified' && lastModified === undefined) {
    return refuse('no strong validator (a strong ETag, or Last-Modified 1 s older than Date)');
  }
  let first: number;
  let last: number | undefined;
  let total: number | undefined;
  if (response.status === 200) {
    total = safeContentLength(response.headers);
    first = delivered;
    last = total === undefined ? undefined : total - 1;
  } else {
    if (isMultipart(response.headers)) return refuse('a multipart/byteranges response');
    const range = parseContentRange(headerValue(response.headers, 'content-range'));
    if (range === undefined) return refuse('the 206 has no valid Content-Range');
    first = range.first + delivered;
    last = range.last;
    total = range.total;
  }
  if (last !== undefined && first > last) return { kind: 'complete' };
  if (headerTokens(response.headers, 'accept-ranges').includes('none')) {
    if (first > opts.maxDiscardBytes) return refuse('the origin does not accept ranges');
  }
  const validatorValue =
    validator === 'etag'
      ? (etag?.opaque ?? '')
      : (headerValue(response.headers, 'last-modified') ?? '');
  const headers = withoutHeaders(request.headers, REPLACED);
  const range = response.status === 200 ? `bytes=${first}-` : `bytes=${first}-${last ?? ''}`;
  headers.push({ name: 'Range', value: range }, { name: 'If-Range', value: validatorValue });
  return {
    kind: 'range',
    head: serializeRequestHead(request, headers),
    target: {
      first,
      last,
      total,
      delivered,
      validator,
      etag,
      lastModified,
      contentEncoding: contentEncoding(response.headers),
    },
  };
}

export function checkResumed(
  target: ResumeTarget,
  head: ResponseHead,
  framing: BodyFraming | 'upgrade',
  opts: ResumeOptions,
): ResumeVerdict {
  const reject = (reason: string): ResumeVerdict => ({ kind: 'reject', reason });
  const span = (last: number): number => target.delivered + (last - target.first + 1);
  if (head.status === 416) {
    const total = parseUnsatisfiedRange(headerValue(head.headers, 'content-range'));
    if (target.total === undefined && total === target.first) return { kind: 'complete' };
    return reject('416 Range Not Satisfiable');
  }
  if (head.status !== 200 && head.status !== 206) return reject(`status ${head.status}`);
  const changed = representationChanged(target, head);
  if (changed !== undefined) return reject(changed);
  if (head.status === 206) {
    if (isMultipart(head.headers)) return reject('a multipart/byteranges response');
    const range = parseContentRange(headerValue(head.headers, 'content-range'));
    if (range === undefined) return reject('the 206 has no valid Content-Range');
    if (range.first !== target.first) {
      return reject(`Content-Range starts at ${range.first}, expected ${target.first}`);
    }
    if (target.last !== undefined && range.last !== target.last) {
      return reject(`Content-Range ends at ${range.last}, expected ${target.last}`);
    }
    if (target.total !== undefined && range.total !== undefined && range.total !== target.total) {
      return reject(`complete length ${range.total}, expected ${target.total}`);
    }
    if (framing !== 'upgrade' && framing.kind === 'length') {
      if (framing.length !== range.last - range.first + 1) {
        return reject('Content-Length does not match Content-Range');
      }
    }
    return { kind: 'splice', end: span(range.last) };
  }
  // 200: the origin ignored Range, or If-Range found the content changed. Only a response
  // that carries the very validator proves it is the same content.
  if (!carriesValidator(target, head)) return reject('a 200 without the original validator');
  const length = framing !== 'upgrade' && framing.kind === 'length' ? framing.length : undefined;
  if (target.total !== undefined && length !== undefined && length !== target.total) {
    return reject(`length ${length}, expected ${target.total}`);
  }
  if (target.first > opts.maxDiscardBytes) {
    return reject(`the origin ignores Range and ${target.first} bytes exceed maxDiscardBytes`);
  }
  const end = target.last === undefined ? undefined : span(target.last);
  return { kind: 'discard', skip: target.first, end };
}

/** Why the new response is a different representation, or undefined if nothing says so. */
function representationChanged(target: ResumeTarget, head: ResponseHead): string | undefined {
  if (contentEncoding(head.headers) !== target.contentEncoding) return 'Content-Encoding changed';
  const etag = parseEntityTag(headerValue(head.headers, 'etag'));
  if (target.validator === 'etag' && etag !== undefined && !strongMatch(etag, target.etag)) {
    return 'entity tag changed';
  }
  const lm = parseHttpDate(headerValue(head.headers, 'last-modified'));
  if (target.validator === 'last-modified' && lm !== undefined && lm !== target.lastModified) {
    return 'Last-Modified changed';
  }
  return undefined;
}

function carriesValidator(target: ResumeTarget, head: ResponseHead): boolean {
  if (target.validator === 'etag') {
    return strongMatch(parseEntityTag(headerValue(head.headers, 'etag')), target.etag);
  }
  return parseHttpDate(headerValue(head.headers, 'last-modified')) === target.lastModified;
}

/** Last-Modified, if it is a strong validator: at least 1 s before Date (RFC 9110 8.8.2.2). */
function strongLastModified(headers: HeaderList): number | undefined {
  const lm = parseHttpDate(headerValue(headers, 'last-modified'));
  const date = parseHttpDate(headerValue(headers, 'date'));
  return lm !== undefined && date !== undefined && date - lm >= 1000 ? lm : undefined;
}

function contentEncoding(headers: HeaderList): string {
  return headerTokens(headers, 'content-encoding')
    .filter((c) => c !== 'identity')
    .join(',');
}

function isMultipart(headers: HeaderList): boolean {
  return /^\s*multipart\/byteranges/i.test(headerValue(headers, 'content-type') ?? '');
}

function safeContentLength(headers: HeaderList): number | undefined {
  try {
    return contentLength(headers, badResponse);
  } catch {
    return undefined;
  }
}
