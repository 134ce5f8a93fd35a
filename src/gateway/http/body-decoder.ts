import type { RoamError } from '../../errors.js';
import { type HeadLimits, findSectionEnd, parseFieldLines, splitLines } from './head.js';
import { type HeaderField, isFieldValue } from './headers.js';
import type { Input } from './input.js';

/** How a message body is delimited on the wire (RFC 9112 6). */
export type BodyFraming =
  | { readonly kind: 'none' }
  | { readonly kind: 'length'; readonly length: number }
  | { readonly kind: 'chunked' }
  | { readonly kind: 'close' };

export type BodyEvent =
  | { readonly type: 'data'; readonly data: Buffer }
  | { readonly type: 'end'; readonly trailers: readonly HeaderField[] };

/** Longest chunk-size line accepted, extensions included. */
export const MAX_CHUNK_LINE = 4096;
/** 13 hex digits = 2^52, still an exact JavaScript number. */
const MAX_SIZE_DIGITS = 13;
const LF = 0x0a;
const CR = 0x0d;
const END: BodyEvent = { type: 'end', trailers: [] };

/*
 * One body, decoded from an Input. States:
 *
 *   length ──remaining = 0──────────────────────────────▶ end ──(end event)──▶ done
 *   size ──n > 0──▶ data ──n bytes──▶ data-end ──CRLF──▶ size
 *   size ──n = 0──▶ trailers ──blank line (end event with the trailers)──▶ done
 *   close ──EOF (end event)──▶ done
 *   (no body) ───────────────────────────────────────────▶ end
 *
 * next() returns one event, or undefined when it needs more input.
 */
type State = 'length' | 'size' | 'data' | 'data-end' | 'trailers' | 'close' | 'end' | 'done';

export class BodyDecoder {
  #state: State;
  #remaining = 0;
  #scanned = 0;
  readonly #limits: HeadLimits;
  readonly #fail: (message: string) => RoamError;

  constructor(framing: BodyFraming, limits: HeadLimits, fail: (message: string) => RoamError) {
    this.#limits = limits;
    this.#fail = fail;
    switch (framing.kind) {
      case 'none':
        this.#state = 'end';
        break;
      case 'length':
        this.#state = framing.length === 0 ? 'end' : 'length';
        this.#remaining = framing.length;
        break;
      case 'chunked':
        this.#state = 'size';
        break;
      case 'close':
        this.#state = 'close';
        break;
    }
  }

  /** True once the end event was returned; the Input then holds the next message. */
  get done(): boolean {
    return this.#state === 'done';
  }

  next(input: Input): BodyEvent | undefined {
    for (;;) {
      switch (this.#state) {
        case 'done':
          return undefined;
        case 'end':
          this.#state = 'done';
          return END;
        case 'length':
        case 'data': {
          if (input.buffered === 0) return undefined;
          const data = input.take(this.#remaining);
          this.#remaining -= data.length;
          if (this.#remaining === 0) this.#state = this.#state === 'length' ? 'end' : 'data-end';
          return { type: 'data', data };
        }
        case 'close':
          if (input.buffered > 0) return { type: 'data', data: input.take(input.buffered) };
          if (!input.eof) return undefined;
          this.#state = 'done';
          return END;
        case 'size':
          if (!this.#readSize(input)) return undefined;
          continue;
        case 'data-end': {
          const view = input.view();
          if (view[0] === LF) input.skip(1);
          else if (view[0] === CR && view[1] === LF) input.skip(2);
          else if (view.length === 0 || (view[0] === CR && view.length === 1)) return undefined;
          else throw this.#fail('chunk data longer than its chunk size');
          this.#state = 'size';
          continue;
        }
        case 'trailers':
          return this.#readTrailers(input);
      }
    }
  }

  #readSize(input: Input): boolean {
    const view = input.view();
    const lf = view.subarray(0, MAX_CHUNK_LINE + 1).indexOf(LF);
    if (lf === -1) {
      if (view.length > MAX_CHUNK_LINE) throw this.#fail('chunk-size line too long');
      return false;
    }
    const end = lf > 0 && view[lf - 1] === CR ? lf - 1 : lf;
    const line = view.toString('latin1', 0, end);
    input.skip(lf + 1);
    const m = /^([0-9A-Fa-f]+)[ \t]*(;[^\r\n]*)?$/.exec(line);
    const digits = m?.[1]?.replace(/^0+(?=.)/, '');
    if (m === null || digits === undefined || !isFieldValue(m[2] ?? '')) {
      throw this.#fail(`invalid chunk size line ${JSON.stringify(line.slice(0, 40))}`);
    }
    if (digits.length > MAX_SIZE_DIGITS) throw this.#fail('chunk size too large');
    this.#remaining = parseInt(digits, 16);
    this.#state = this.#remaining === 0 ? 'trailers' : 'data';
    this.#scanned = 0;
    return true;
  }

  #readTrailers(input: Input): BodyEvent | undefined {
    const view = input.view();
    const end = findSectionEnd(view, 0, this.#scanned);
    if (end === -1) {
      if (view.length > this.#limits.maxHeadBytes) throw this.#fail('trailer section too large');
      this.#scanned = view.length;
      return undefined;
    }
    if (end > this.#limits.maxHeadBytes) throw this.#fail('trailer section too large');
    const raw = input.take(end);
    const trailers = parseFieldLines(splitLines(raw, this.#fail), this.#limits, this.#fail);
    this.#state = 'done';
    return { type: 'end', trailers };
  }
}
