import type { Socket } from 'node:net';
import type { RoamError } from '../../errors.js';
import type { BodyFraming } from './body-decoder.js';
import { asRoamError } from './errors.js';
import type { HeadLimits, RequestHead } from './head.js';
import type { HeaderList } from './headers.js';
import { type RequestEvent, RequestParser } from './request-parser.js';

/** What the client side reports to its flow. */
export interface ClientHost {
  /** False once the flow is closing: what the client still sends is dropped. */
  accepting(): boolean;
  /** The current exchange cannot take the next event (a pipelined request waits, or the upload is held). */
  busy(): boolean;
  request(head: RequestHead, framing: BodyFraming): void;
  body(data: Buffer): void;
  end(trailers: HeaderList): void;
  /** The client closed its side and every complete request was handed over. */
  ended(): void;
  bad(err: RoamError): void;
}

/**
 * Reads requests from the client socket and hands them to the flow one event at a time,
 * only as fast as the flow can take them. Unread bytes stay in the parser; while the flow
 * is busy and readBufferBytes are buffered, the socket is paused (an incomplete head is
 * bounded by the parser's limits instead, since more bytes are needed to finish or refuse it).
 */
export class ClientSide {
  readonly #socket: Socket;
  readonly #parser: RequestParser;
  readonly #host: ClientHost;
  readonly #readBufferBytes: number;
  #pumping = false;

  constructor(socket: Socket, limits: HeadLimits, readBufferBytes: number, host: ClientHost) {
    this.#socket = socket;
    this.#parser = new RequestParser(limits);
    this.#host = host;
    this.#readBufferBytes = readBufferBytes;
    socket.on('data', (chunk: Buffer) => {
      if (!host.accepting()) return;
      this.#parser.push(chunk);
      this.pump();
    });
    socket.on('end', () => {
      this.#parser.finish();
      this.pump();
    });
  }

  /** The client sent FIN and nothing of a further request is buffered. */
  get finished(): boolean {
    return this.#parser.eof && this.#parser.idle;
  }

  /** For a tunnel: whatever the client sent after the upgrade request. */
  takeRemainder(): Buffer {
    return this.#parser.takeRemainder();
  }

  /** Hand over events while the flow takes them. Re-entrant calls are folded into one loop. */
  pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    let busy = false;
    try {
      for (;;) {
        busy = this.#host.busy();
        if (busy || !this.#host.accepting()) break;
        let ev: RequestEvent | undefined;
        try {
          ev = this.#parser.next();
        } catch (err) {
          this.#host.bad(asRoamError(err));
          break;
        }
        if (ev === undefined) {
          if (this.#parser.eof) this.#host.ended();
          break;
        }
        if (ev.type === 'head') this.#host.request(ev.head, ev.framing);
        else if (ev.type === 'body') this.#host.body(ev.data);
        else this.#host.end(ev.trailers);
      }
    } finally {
      this.#pumping = false;
    }
    if (!this.#host.accepting()) return;
    if (busy && this.#parser.buffered >= this.#readBufferBytes) this.#socket.pause();
    else this.#socket.resume();
  }
}
