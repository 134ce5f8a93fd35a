import { RoamError } from '../errors.js';
import { badInput } from './errors.js';
import { DATA_FIXED_LENGTH, type Frame, HEADER_LENGTH, MAX_DATA_BODY } from './frame.js';
import { checkHeader, parseBody } from './parse.js';

export interface FrameDecoderOptions {
  /** Largest DATA body accepted, 16..MAX_DATA_BODY (the default). */
  maxDataBody?: number;
}

/**
 * Incremental decoder for the frames of one flowpath. The socket side is only
 *
 *   for (const frame of decoder.emitFrames(chunk)) handleFrame(frame);
 *
 * Chunks may split frames anywhere. A frame that lies inside one chunk is decoded in place
 * (a DATA payload is a view of the chunk, so a socket that reuses its read buffer, as with
 * net's `onread`, must copy payloads it keeps); only a frame that spans chunks is copied,
 * once, into a buffer of its exact size, allocated (allocUnsafe) when its header arrives. At
 * most one frame is buffered, and its length has passed the limits before a byte of its body
 * is kept, so a peer cannot make the decoder hold more than HEADER_LENGTH + maxDataBody
 * bytes. Handshake frames' ids, keys and proofs are always copies.
 *
 * Bad input throws WireError; from then on the decoder is failed and throws the same error
 * again. Iterate each generator to its end: leaving the loop early (break, or a throw from
 * the loop body) would lose the rest of the chunk, so it fails the decoder too.
 */
export class FrameDecoder {
  readonly #maxDataBody: number;
  /** Header bytes of the next frame, when a chunk ended inside them. */
  readonly #header = Buffer.alloc(HEADER_LENGTH);
  #headerFill = 0;
  /** Body of a frame that spans chunks, allocated once its header passed checkHeader. */
  #body: Buffer | null = null;
  #bodyFill = 0;
  #type = 0;
  #flags = 0;
  /** Set once decoding failed or a loop was abandoned: every later call throws it. */
  #failure: { error: unknown } | null = null;
  #running = false;

  constructor(opts: FrameDecoderOptions = {}) {
    const max = opts.maxDataBody ?? MAX_DATA_BODY;
    if (!Number.isInteger(max) || max < DATA_FIXED_LENGTH || max > MAX_DATA_BODY) {
      throw badInput(`maxDataBody must be an integer in ${DATA_FIXED_LENGTH}..${MAX_DATA_BODY}`);
    }
    this.#maxDataBody = max;
  }

  /** Bytes received but not yet emitted as a frame: less than one frame, header included. */
  get bufferedBytes(): number {
    return this.#body === null ? this.#headerFill : HEADER_LENGTH + this.#bodyFill;
  }

  *emitFrames(chunk: Buffer): Generator<Frame, void, undefined> {
    if (this.#failure !== null) throw this.#failure.error;
    if (this.#running) throw badInput('emitFrames called again before the last one finished');
    this.#running = true;
    let done = false;
    try {
      yield* this.#decode(chunk);
      done = true;
    } catch (err) {
      this.#failure = { error: err };
      throw err;
    } finally {
      this.#running = false;
      if (!done && this.#failure === null) {
        const error = new RoamError(
          'ROAM_DECODER_ABANDONED',
          'a frame loop ended before the whole chunk was decoded; this flowpath cannot continue',
        );
        this.#failure = { error };
      }
    }
  }

  *#decode(chunk: Buffer): Generator<Frame, void, undefined> {
    let off = 0;
    if (this.#headerFill > 0) {
      // A header split across chunks: complete it from this chunk.
      const n = Math.min(HEADER_LENGTH - this.#headerFill, chunk.length);
      chunk.copy(this.#header, this.#headerFill, 0, n);
      this.#headerFill += n;
      off = n;
      if (this.#headerFill < HEADER_LENGTH) return;
      this.#headerFill = 0;
      const length = this.#startFrame(this.#header, 0);
      if (chunk.length - off >= length) {
        yield parseBody(this.#type, this.#flags, chunk.subarray(off, off + length));
        off += length;
      } else {
        this.#body = Buffer.allocUnsafe(length);
      }
    }
    const body = this.#body;
    if (body !== null) {
      // A body split across chunks: copy what this chunk has of it.
      const n = Math.min(body.length - this.#bodyFill, chunk.length - off);
      chunk.copy(body, this.#bodyFill, off, off + n);
      this.#bodyFill += n;
      off += n;
      if (this.#bodyFill < body.length) return;
      this.#body = null;
      this.#bodyFill = 0;
      yield parseBody(this.#type, this.#flags, body);
    }
    // Whole frames inside the chunk: decoded in place.
    while (chunk.length - off >= HEADER_LENGTH) {
      const length = this.#startFrame(chunk, off);
      off += HEADER_LENGTH;
      if (chunk.length - off < length) {
        const partial = Buffer.allocUnsafe(length);
        this.#bodyFill = chunk.copy(partial, 0, off);
        this.#body = partial;
        return;
      }
      yield parseBody(this.#type, this.#flags, chunk.subarray(off, off + length));
      off += length;
    }
    this.#headerFill = chunk.copy(this.#header, 0, off);
  }

  /** Reads and checks a header at buf[off]; remembers type and flags, returns body length. */
  #startFrame(buf: Buffer, off: number): number {
    const type = buf.readUInt8(off);
    const flags = buf.readUInt8(off + 1);
    const length = buf.readUInt32BE(off + 2);
    checkHeader(type, flags, length, this.#maxDataBody);
    this.#type = type;
    this.#flags = flags;
    return length;
  }
}
