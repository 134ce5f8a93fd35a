import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { rootLogger } from '../log/logger.js';
import { encodeFrame, ErrorCode, type Frame, FrameDecoder, WireError } from '../wire/index.js';
import { PathLiveness, type PathHealth } from './liveness.js';

/**
 * One flowpath: a TCP connection carrying session frames. It decodes frames, answers pings,
 * and decides when the path is dead (no frame for deadAfterMs: a stalled path or a changed
 * address gives no TCP error for minutes). It knows nothing of sessions: it reports frames
 * and its own death, and the session decides what to do.
 *
 *   handshake ──(session adopts it)──▶ open ──(error, close, dead, protocol error)──▶ closed
 */
export type FlowpathState = 'handshake' | 'open' | 'closed';

/** How long a closing flowpath may take to flush its last frames. */
const LINGER_MS = 1000;

/**
 * Most bytes queued on a socket before the peer counts as not reading. The session queues
 * at most one DATA frame (1 MiB at most) past the socket's high-water mark, plus small frames.
 */
const MAX_UNSENT_BYTES = 4 * 1024 * 1024;

export interface FlowpathInfo {
  pathId: number;
  state: FlowpathState;
  health: PathHealth;
  localAddress: string | undefined;
  localPort: number | undefined;
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  rttMs: number | undefined;
  /** Bytes written to the socket and not yet taken by the kernel (the peer reads slowly). */
  queuedBytes: number;
  /** Lowest RTT seen, ms. */
  minRttMs?: number | undefined;
  /** Moving average of the last 5 RTT samples, ms (best-path's latency score). */
  rttAvgMs?: number | undefined;
  // Filled in by the session (multipath sender and receiver):
  /** DATA bytes (and FINs) sent on this flowpath. */
  sentBytes?: number;
  /** ... of which the peer has received. */
  deliveredBytes?: number;
  /** ... and the rest: in flight on this path. */
  inflightBytes?: number;
  /** Bytes this path carried that were re-sent on another (it stalled or died). */
  lostBytes?: number;
  /** lostBytes / sentBytes. */
  lossRate?: number;
  /** Estimated delivery rate, bytes per second. */
  rateBytesPerSec?: number | undefined;
  /** Most bytes the scheduler keeps in flight on it. */
  capBytes?: number;
  /** No delivery for too long while others deliver: no new data until it catches up. */
  suspect?: boolean;
  /** DATA bytes received on this flowpath from the peer. */
  receivedBytes?: number;
}

export interface FlowpathEvents {
  frame: [frame: Frame];
  drain: [];
  closed: [reason: string];
}

export interface FlowpathTiming {
  keepaliveIntervalMs: number;
  deadAfterMs: number;
  now?: () => number;
}

export class Flowpath extends EventEmitter<FlowpathEvents> {
  state: FlowpathState = 'handshake';
  pathId = 0;
  readonly socket: Socket;
  private readonly decoder = new FrameDecoder();
  private readonly liveness: PathLiveness;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private closeReason: string | undefined;
  private held: Frame[] = [];
  private overflowing = false;
  /** The latest ping not answered yet because the socket was backed up. */
  private pendingPong: number | undefined;
  /** The last RTT samples (ms), newest last: best-path's moving average of 5. */
  private readonly rttSamples: number[] = [];
  private framesDecoded = 0;
  /** The peer's first bytes, kept until a frame decodes: what a non-roam peer said. */
  private firstBytes: Buffer | undefined;
  /**
   * Set when the peer's very first bytes were no roam frame: a web server, say, answering
   * our HELLO. The handshake reports it (ROAM_NOT_ROAM) instead of retrying.
   */
  notRoam: string | undefined;

  constructor(socket: Socket, timing: FlowpathTiming) {
    super();
    this.socket = socket;
    this.now = timing.now ?? (() => performance.now());
    this.liveness = new PathLiveness(
      { intervalMs: timing.keepaliveIntervalMs, deadAfterMs: timing.deadAfterMs },
      this.now(),
    );
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('drain', () => {
      this.flushPong();
      this.emit('drain');
    });
    socket.on('error', (err: NodeJS.ErrnoException) =>
      this.close(`socket error ${err.code ?? err.message}`),
    );
    socket.on('close', () => this.close('socket closed'));
    socket.on('end', () => this.close('peer closed the connection'));
    this.arm();
  }

  /** The handshake is done and a session owns the path: keepalive starts. */
  open(): void {
    if (this.state !== 'handshake') return;
    this.state = 'open';
    if (this.timer) clearTimeout(this.timer);
    this.arm();
  }

  /** Queues a frame; false when the socket's buffer is full (wait for 'drain'). */
  send(frame: Frame): boolean {
    if (this.state === 'closed' || this.overflowing) return false;
    const pieces = encodeFrame(frame);
    let ok = true;
    // Header and payload in one writev; a caller batching frames has corked already.
    const cork = pieces.length > 1 && this.socket.writableCorked === 0;
    if (cork) this.socket.cork();
    for (const piece of pieces) ok = this.socket.write(piece);
    if (cork) this.socket.uncork();
    if (this.socket.writableLength > MAX_UNSENT_BYTES) this.overflow();
    return ok;
  }

  /**
   * A peer that does not read while it makes us write (a PONG for each of its PINGs) would
   * grow the socket's queue without bound. The session never queues more than one frame
   * past the high-water mark, so a queue this long means the peer has stopped reading: drop
   * the path. Deferred, so that a session in the middle of sending on it is not re-entered.
   */
  private overflow(): void {
    this.overflowing = true;
    queueMicrotask(() =>
      this.fail('the peer does not read', {
        code: ErrorCode.LIMIT,
        reason: `more than ${MAX_UNSENT_BYTES} bytes unread`,
      }),
    );
  }

  get writable(): boolean {
    return this.state !== 'closed' && !this.socket.writableNeedDrain;
  }

  get health(): PathHealth {
    return this.state === 'closed' ? 'dead' : this.liveness.health(this.now());
  }

  info(): FlowpathInfo {
    return {
      pathId: this.pathId,
      state: this.state,
      health: this.health,
      localAddress: this.socket.localAddress,
      localPort: this.socket.localPort,
      remoteAddress: this.socket.remoteAddress,
      remotePort: this.socket.remotePort,
      rttMs: this.liveness.rtt.srtt,
      queuedBytes: this.socket.writableLength,
      minRttMs: this.minRttMs,
      rttAvgMs: this.rttAvgMs,
    };
  }

  get minRttMs(): number | undefined {
    return this.liveness.minRtt;
  }

  get rttAvgMs(): number | undefined {
    const n = this.rttSamples.length;
    return n === 0 ? undefined : this.rttSamples.reduce((a, b) => a + b, 0) / n;
  }

  /** Closes with an ERROR frame first when there is something to tell the peer. */
  fail(reason: string, error?: { code: number; reason: string }): void {
    if (this.state === 'closed') return;
    if (error) {
      this.logClose(reason, error.code, error.reason);
      this.overflowing = false; // the ERROR frame goes out even behind a full queue
      this.send({ type: 'error', code: error.code, reason: error.reason });
    }
    this.close(reason, LINGER_MS);
  }

  /**
   * The line every flowpath closed for cause leaves, warn for all but an orderly CLOSED:
   * the operator's view of bad input and attacks.
   */
  private logClose(reason: string, errorCode: number, detail: string): void {
    const socket = this.socket;
    const fields = {
      errorCode,
      remote: socket.remoteAddress,
      remotePort: socket.remotePort,
      pathId: this.pathId,
      detail,
    };
    const msg = `flowpath closed: ${reason}`;
    if (errorCode === ErrorCode.CLOSED) rootLogger().debug(fields, msg);
    else rootLogger().warn(fields, msg);
  }

  /**
   * Closes the flowpath. With `lingerMs`, what is queued (an ERROR frame, a last ACK) is
   * flushed first, for at most that long; without, the socket goes at once (a dead path).
   */
  close(reason: string, lingerMs = 0): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closeReason = reason;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const socket = this.socket;
    if (!socket.destroyed) {
      if (lingerMs > 0) {
        socket.end();
        const timer = setTimeout(() => socket.destroy(), lingerMs);
        timer.unref();
        socket.once('close', () => clearTimeout(timer));
      } else {
        socket.destroy();
      }
    }
    this.emit('closed', reason);
  }

  /** Hands over frames that arrived while nobody listened, and resumes reading. */
  deliverHeld(): void {
    const held = this.held;
    this.held = [];
    for (const frame of held) {
      if (this.state === 'closed') return;
      this.emit('frame', frame);
    }
    if (this.state !== 'closed') this.socket.resume();
  }

  /** Frames that arrived after the handshake's first frame and wait for the session. */
  get heldFrames(): number {
    return this.held.length;
  }

  get reason(): string | undefined {
    return this.closeReason;
  }

  /** Each decoded frame; false stops decoding (the path closed under it). */
  private readonly onFrame = (frame: Frame): boolean => {
    if (this.state === 'closed') return false;
    this.framesDecoded++;
    this.firstBytes = undefined;
    if (frame.type === 'ping') this.pong(frame.id);
    else if (frame.type === 'pong') this.onPong(frame.id);
    else if (this.listenerCount('frame') > 0) this.emit('frame', frame);
    else {
      // Between the handshake and the session taking the path over, nobody listens:
      // keep the frames (the peer will never resend them on this path) and stop reading.
      this.held.push(frame);
      this.socket.pause();
    }
    return true;
  };

  private receive(chunk: Buffer): void {
    if (this.state === 'closed') return;
    this.liveness.onActivity(this.now());
    if (this.framesDecoded === 0 && !this.firstBytes) this.firstBytes = chunk.subarray(0, 64);
    try {
      this.decoder.decode(chunk, this.onFrame);
    } catch (err) {
      const code = err instanceof WireError ? err.code : 'ROAM_WIRE_MALFORMED';
      if (this.framesDecoded === 0) this.notRoam = notRoamDetail(err as Error, this.firstBytes);
      this.fail(`bad frame (${code})`, {
        code: code === 'ROAM_WIRE_VERSION' ? ErrorCode.VERSION : ErrorCode.PROTOCOL,
        reason: (err as Error).message.slice(0, 200),
      });
    }
  }

  /**
   * Answers a ping, or, while the socket is backed up, remembers only the latest one and
   * answers it at 'drain'. A pong settles its ping and every older one, so nothing is lost;
   * and a peer that pings without reading cannot make us queue a pong per ping.
   */
  private pong(id: number): void {
    if (this.socket.writableNeedDrain) this.pendingPong = id;
    else this.send({ type: 'pong', id });
  }

  private onPong(id: number): void {
    const before = this.liveness.rtt.samples;
    this.liveness.onPong(id, this.now());
    const latest = this.liveness.latestRtt;
    if (this.liveness.rtt.samples > before && latest !== undefined) {
      this.rttSamples.push(latest);
      if (this.rttSamples.length > 5) this.rttSamples.shift();
    }
  }

  private flushPong(): void {
    const id = this.pendingPong;
    this.pendingPong = undefined;
    if (id !== undefined) this.send({ type: 'pong', id });
  }

  /** One timer per flowpath, re-armed for the next ping or liveness deadline. */
  private arm(): void {
    if (this.state === 'closed') return;
    const now = this.now();
    if (this.liveness.health(now) === 'dead') {
      // Timers run before pending socket reads: if our own event loop was busy, the peer's
      // frames may be waiting unread. Decide after the next I/O poll, not before.
      setImmediate(() => {
        if (this.state !== 'closed' && this.liveness.health(this.now()) === 'dead') {
          // No ERROR frame: a peer that sends nothing is not reading either.
          const reason = 'no frame from the peer: path dead';
          this.logClose(
            reason,
            ErrorCode.TIMEOUT,
            `nothing for ${this.liveness.options.deadAfterMs} ms`,
          );
          this.close(reason);
        } else this.arm();
      });
      return;
    }
    // HELLO/WELCOME are the first frames on a flowpath: no ping before the handshake is
    // done (open() re-arms at once); until then only the liveness deadline is watched.
    if (this.state === 'handshake') {
      this.timer = setTimeout(() => this.arm(), this.liveness.options.deadAfterMs);
      this.timer.unref();
      return;
    }
    const ping = this.liveness.nextPing(now);
    if (ping) this.send({ type: 'ping', id: ping.id });
    this.timer = setTimeout(() => this.arm(), Math.max(1, this.liveness.nextDeadline(now)));
    this.timer.unref();
  }
}

/** `unknown frame type 0x48; it sent "HTTP/1.1 400 Bad Request"`: the cause, and the words. */
function notRoamDetail(err: Error, first: Buffer | undefined): string {
  const text = first
    ?.toString('latin1')
    .split(/\r?\n/)[0]
    ?.replace(/[^\x20-\x7e]/g, '.')
    .slice(0, 48);
  return `${err.message}${text ? `; it sent "${text}"` : ''}`;
}
