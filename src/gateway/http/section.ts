import type { RoamError } from '../../errors.js';
import { findSectionEnd } from './head.js';
import type { Input } from './input.js';

/**
 * Cuts one head (start line, fields, blank line) off the front of an Input, enforcing the
 * size limit before the whole head has arrived. Remembers how far it scanned, so a head
 * that trickles in is scanned once.
 */
export class HeadReader {
  #scanned = 0;
  readonly #maxBytes: number;
  readonly #what: string;
  readonly #fail: (message: string) => RoamError;

  constructor(maxBytes: number, what: string, fail: (message: string) => RoamError) {
    this.#maxBytes = maxBytes;
    this.#what = what;
    this.#fail = fail;
  }

  /** The complete raw head, consumed from `input`, or undefined if it has not all arrived. */
  read(input: Input): Buffer | undefined {
    const view = input.view();
    const end = findSectionEnd(view, 0, this.#scanned);
    if (end === -1) {
      if (view.length > this.#maxBytes) throw this.#tooLarge();
      this.#scanned = view.length;
      return undefined;
    }
    if (end > this.#maxBytes) throw this.#tooLarge();
    this.#scanned = 0;
    return input.take(end);
  }

  #tooLarge(): RoamError {
    return this.#fail(`${this.#what} larger than ${this.#maxBytes} bytes`);
  }
}
