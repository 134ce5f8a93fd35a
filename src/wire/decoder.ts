import { RoamError } from '../errors.js';
import { badInput, malformed } from './errors.js';
import {
  DATA_FIXED_LENGTH,
  FLAG_FIN,
  type Frame,
  FrameType,
  HEADER_LENGTH,
  MAX_DATA_BODY,
} from './frame.js';
import { U48_MAX } from './fields.js';
import { checkHeader, parseBody } from './parse.js';

export interface FrameDecoderOptions {
  /** Largest DATA body accepted, 16..MAX_DATA_BODY (the default). */
  maxDataBody?: number;
}

/**
 * Incremental decoder for the frames of one flowpath. The socket side is only
 *
 *   decoder.decode(chunk, (frame) => handleFrame(frame));
 *
 * or, where speed does not matter, `for (const frame of decoder.emitFrames(chunk)) ...`.
 *
 * Chunks may split frames anywhere. A frame that lies inside one chunk is decoded in place
 * (a DATA payload is a view of the chunk, so a socket that reuses its read buffer, as with
 * net's `onread`, must copy payloads it keeps). A DATA frame that spans chunks is streamed:
 * each chunk's share of its payload is emitted at once as a piece (`more: true` on all but
 * the last), never copied — the receiver sees bytes a round trip sooner on a new flowpath,
 * and a large frame costs no memcpy. Any other frame that spans chunks is copied, once, into
 * a buffer of its exact size (they are at most 1 KiB). Lengths pass their limits before a
 * byte is kept. Handshake frames' ids, keys and proofs are always copies.
 *
 * Bad input throws WireError; from then on the decoder is failed and throws the same error
 * again. Stopping early (onFrame returning false, a throw from it, or leaving an emitFrames
 * loop) would lose the rest of the chunk, so it fails the decoder too.
 */
const ignore = (): void => undefined;

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
  /**
   * A DATA frame that spans chunks is not gathered: once its fixed fields are in, each piece
   * of payload is emitted as it arrives (a DATA frame for that piece, `seq` advancing, FIN on
   * the last). No copy, and the receiver gets bytes without waiting for the whole frame.
   */
  #stream: { seq: number; ack: number; window: number; fin: boolean; remaining: number } | null =
    null;
  /** Payload length of a spanning DATA frame whose fixed fields are being gathered in #body. */
  #pendingPayload = -1;
  /** Set once decoding failed or a loop was abandoned: every later call throws it. */
  #failure: { error: unknown } | null = null;
  #running = false;
  /** The consumer of the chunk being decoded, and whether it asked to stop. */
  #emit: (frame: Frame) => boolean | void = ignore;
  #stopped = false;
  #consumerThrew = false;

  constructor(opts: FrameDecoderOptions = {}) {
    const max = opts.maxDataBody ?? MAX_DATA_BODY;
    if (!Number.isInteger(max) || max < DATA_FIXED_LENGTH || max > MAX_DATA_BODY) {
      throw badInput(`maxDataBody must be an integer in ${DATA_FIXED_LENGTH}..${MAX_DATA_BODY}`);
    }
    this.#maxDataBody = max;
  }

  /** Bytes received but not yet emitted as a frame: less than one frame, header included. */
  get bufferedBytes(): number {
    if (this.#stream !== null) return 0;
    return this.#body === null ? this.#headerFill : HEADER_LENGTH + this.#bodyFill;
  }

  /**
   * Decodes `chunk`, calling `onFrame` for each frame in order: the hot path (no generator,
   * no array). `onFrame` returns false to stop: the rest of the chunk is then lost, so the
   * decoder fails (ROAM_DECODER_ABANDONED) like a loop left early. A throw from `onFrame` or
   * from decoding fails the decoder and propagates.
   */
  decode(chunk: Buffer, onFrame: (frame: Frame) => boolean | void): void {
    if (this.#failure !== null) throw this.#failure.error;
    if (this.#running) throw badInput('decode called again before the last one finished');
    this.#running = true;
    this.#emit = onFrame;
    this.#stopped = false;
    let done = false;
    try {
      this.#decode(chunk);
      done = !this.#stopped;
    } catch (err) {
      // The consumer's own error only ends its loop; the decoder's verdict is "abandoned".
      if (this.#consumerThrew) this.#abandon();
      else this.#failure = { error: err };
      throw err;
    } finally {
      this.#running = false;
      this.#consumerThrew = false;
      this.#emit = ignore;
      if (!done && this.#failure === null) this.#abandon();
    }
  }

  /**
   * The same as a generator: `for (const frame of decoder.emitFrames(chunk)) ...`. Frames
   * before a bad one are yielded first, then the error is thrown.
   */
  *emitFrames(chunk: Buffer): Generator<Frame, void, undefined> {
    if (this.#failure !== null) throw this.#failure.error;
    if (this.#running) throw badInput('emitFrames called again before the last one finished');
    const frames: Frame[] = [];
    let error: { error: unknown } | null = null;
    try {
      this.decode(chunk, (f) => {
        frames.push(f);
      });
    } catch (err) {
      error = { error: err };
    }
    // Until the caller has taken every frame, a later call must not run (the order would break).
    this.#running = true;
    let done = false;
    try {
      for (const f of frames) yield f;
      done = true;
    } finally {
      this.#running = false;
      if (!done && this.#failure === null) this.#abandon();
    }
    if (error !== null) throw error.error;
  }

  #abandon(): void {
    this.#failure = {
      error: new RoamError(
        'ROAM_DECODER_ABANDONED',
        'a frame loop ended before the whole chunk was decoded; this flowpath cannot continue',
      ),
    };
  }

  /** Hands a frame over; false once the consumer asked to stop. */
  #out(frame: Frame): boolean {
    let more: boolean | void;
    try {
      more = this.#emit(frame);
    } catch (err) {
      this.#consumerThrew = true;
      throw err;
    }
    if (more === false) this.#stopped = true;
    return !this.#stopped;
  }

  #decode(chunk: Buffer): void {
    let off = 0;
    if (this.#stream !== null) {
      off = this.#streamPayload(chunk, 0);
      if (this.#stream !== null || this.#stopped) return;
    }
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
        const more = this.#out(
          parseBody(this.#type, this.#flags, chunk.subarray(off, off + length)),
        );
        off += length;
        if (!more) return;
      } else {
        off = this.#spanning(chunk, off, length);
        if (this.#stream !== null || this.#body !== null || this.#stopped) return;
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
      if (this.#pendingPayload >= 0) {
        // The fixed fields of a spanning DATA frame are in: stream its payload from here.
        this.#beginStream(body, 0, this.#pendingPayload);
        this.#pendingPayload = -1;
        off = this.#streamPayload(chunk, off);
        if (this.#stream !== null || this.#stopped) return;
      } else if (!this.#out(parseBody(this.#type, this.#flags, body))) return;
    }
    // Whole frames inside the chunk: decoded in place.
    while (chunk.length - off >= HEADER_LENGTH) {
      const length = this.#startFrame(chunk, off);
      off += HEADER_LENGTH;
      if (chunk.length - off < length) {
        off = this.#spanning(chunk, off, length);
        if (this.#stream !== null || this.#body !== null || this.#stopped) return;
        continue;
      }
      const more = this.#out(parseBody(this.#type, this.#flags, chunk.subarray(off, off + length)));
      off += length;
      if (!more) return;
    }
    this.#headerFill = chunk.copy(this.#header, 0, off);
  }

  /**
   * A frame whose body runs past this chunk. DATA is streamed (gathering only its 16 fixed
   * bytes if even those are split); any other frame is gathered whole (they are small).
   * Returns the offset after what was consumed.
   */
  #spanning(chunk: Buffer, off: number, length: number): number {
    if (this.#type === FrameType.DATA) {
      if (chunk.length - off >= DATA_FIXED_LENGTH) {
        this.#beginStream(chunk, off, length - DATA_FIXED_LENGTH);
        return this.#streamPayload(chunk, off + DATA_FIXED_LENGTH);
      }
      this.#pendingPayload = length - DATA_FIXED_LENGTH;
      length = DATA_FIXED_LENGTH;
    }
    const partial = Buffer.allocUnsafe(length);
    this.#bodyFill = chunk.copy(partial, 0, off);
    this.#body = partial;
    return chunk.length;
  }

  #beginStream(fixed: Buffer, at: number, payloadLength: number): void {
    const seq = fixed.readUIntBE(at, 6);
    const fin = (this.#flags & FLAG_FIN) !== 0;
    if (seq + payloadLength + (fin ? 1 : 0) > U48_MAX + 1) {
      throw malformed('DATA frame runs past sequence number 2^48 - 1');
    }
    this.#stream = {
      seq,
      ack: fixed.readUIntBE(at + 6, 6),
      window: fixed.readUInt32BE(at + 12),
      fin,
      remaining: payloadLength,
    };
  }

  /** Emits what this chunk holds of a streamed DATA payload; returns the offset after it. */
  #streamPayload(chunk: Buffer, off: number): number {
    const st = this.#stream;
    if (st === null) return off;
    const n = Math.min(st.remaining, chunk.length - off);
    if (n === 0 && st.remaining > 0) return off;
    st.remaining -= n;
    const last = st.remaining === 0;
    if (last) this.#stream = null;
    const seq = st.seq;
    st.seq += n;
    const piece: Frame = {
      type: 'data',
      seq,
      ack: st.ack,
      window: st.window,
      fin: last && st.fin,
      payload: chunk.subarray(off, off + n),
    };
    if (!last) piece.more = true;
    this.#out(piece);
    return off + n;
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
