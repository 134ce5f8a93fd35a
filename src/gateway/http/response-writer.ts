import type { Socket } from 'node:net';
import type { BodyFraming } from './body-decoder.js';
import { chunkOverhead, lastChunk, writeChunk } from './chunked.js';
import { badResponse } from './errors.js';
import type { HeaderList } from './headers.js';

/** How the client's response is delimited; fixed by the first head the client receives. */
export type ClientFraming = 'length' | 'chunked' | 'close' | 'none';

/**
 * The client's side of one response: writes the head as received, then body bytes in the
 * client's framing, whichever upstream they come from. Chunked bodies are re-encoded, so a
 * splice onto a Content-Length 206 still yields a valid chunked stream. Counts the body
 * bytes delivered: the offset a resume starts from. Every write returns the socket's
 * write() verdict; the caller waits for 'drain' on false.
 */
export class ResponseWriter {
  readonly #out: Socket;
  #framing: ClientFraming | undefined;
  #declared: number | undefined;
  #delivered = 0;
  #bytesOut = 0;
  #ended = false;

  constructor(out: Socket) {
    this.#out = out;
  }

  get headSent(): boolean {
    return this.#framing !== undefined;
  }

  get framing(): ClientFraming | undefined {
    return this.#framing;
  }

  /** Body bytes handed to the client socket. */
  get delivered(): number {
    return this.#delivered;
  }

  /** Bytes written to the client socket, heads and chunk framing included. */
  get bytesOut(): number {
    return this.#bytesOut;
  }

  get ended(): boolean {
    return this.#ended;
  }

  interim(raw: Buffer): boolean {
    return this.#write(raw);
  }

  head(raw: Buffer, framing: BodyFraming): boolean {
    this.#framing = framing.kind;
    if (framing.kind === 'length') this.#declared = framing.length;
    return this.#write(raw);
  }

  body(data: Buffer): boolean {
    if (data.length === 0) return true;
    if (this.#declared !== undefined && this.#delivered + data.length > this.#declared) {
      throw badResponse(`body longer than the Content-Length ${this.#declared}`);
    }
    this.#delivered += data.length;
    if (this.#framing === 'chunked') {
      this.#bytesOut += data.length + chunkOverhead(data.length);
      return writeChunk(this.#out, data);
    }
    return this.#write(data);
  }

  /** The body is complete; `trailers` only for a chunked body. */
  end(trailers: HeaderList = []): boolean {
    this.#ended = true;
    if (this.#declared !== undefined && this.#delivered !== this.#declared) {
      throw badResponse(`body of ${this.#delivered} bytes, Content-Length ${this.#declared}`);
    }
    return this.#framing === 'chunked' ? this.#write(lastChunk(trailers)) : true;
  }

  /**
   * How to end the connection when this response cannot be completed, so the client sees
   * a failure and never a short body passed off as whole: a FIN leaves a Content-Length body
   * short or a chunked one without its last chunk; a close-delimited body would look
   * complete after a FIN, so it gets a reset.
   */
  get failure(): 'fin' | 'reset' {
    return this.#framing === 'close' && !this.#ended ? 'reset' : 'fin';
  }

  #write(buf: Buffer): boolean {
    this.#bytesOut += buf.length;
    return this.#out.write(buf);
  }
}
