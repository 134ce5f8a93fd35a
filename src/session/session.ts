import { Duplex } from 'node:stream';
import { RoamError } from '../errors.js';
import { rootLogger } from '../log/logger.js';
import { ErrorCode, type Frame } from '../wire/index.js';
import type { Flowpath, FlowpathInfo } from './flowpath.js';
import type { SessionOptions } from './options.js';
import { ReceiveBuffer } from './receive-buffer.js';
import { SendBuffer } from './send-buffer.js';

/**
 * A roam session: a reliable, ordered byte stream (a Node Duplex, used like net.Socket)
 * that outlives the TCP connections (flowpaths) carrying it. It keeps its own sequence
 * numbers, a bounded output buffer of unacknowledged bytes and a bounded input buffer, so
 * that when a flowpath dies the stream resumes on a new one from exactly what the peer has.
 * Establishing and re-establishing flowpaths is the job of the client and server modules;
 * the session moves bytes over whatever paths it is given.
 *
 *   connecting ──establish()──▶ open ⇄ detached ──(detach timeout)──▶ closed
 *                                 │  (no flowpath)                       ▲
 *                                 └──(FIN sent and acked, FIN received)──┘ also destroy()
 *
 * Close is a user-level FIN carried through the output buffer at the sequence number after
 * the last byte, so a move during closing still completes the close: the FIN is resent
 * from the output buffer like any other byte the peer lacks.
 */
export type SessionState = 'connecting' | 'open' | 'detached' | 'closed';

export interface SessionInit {
  role: 'client' | 'server';
  options: SessionOptions;
}

const ACK_EVERY_FRACTION = 4;
const PUMP_BATCH_BYTES = 1024 * 1024;

export class Session extends Duplex {
  readonly role: 'client' | 'server';
  state: SessionState = 'connecting';
  connId: Buffer = Buffer.alloc(16);
  secret: Buffer = Buffer.alloc(0);
  /** The peer's UDP control socket (server mobility), as it last told us. */
  peerControl: { host: string; port: number } | null = null;

  private readonly opts: SessionOptions;
  private readonly output: SendBuffer;
  private readonly input: ReceiveBuffer;
  private readonly flowpaths = new Map<number, Flowpath>();
  private active: Flowpath | undefined;
  private sendNext = 0;
  private peerWindowEdge: number;
  private localFinSeq: number | undefined;
  private finAcked = false;
  private remoteFinSeq: number | undefined;
  private remoteFinDelivered = false;
  private pendingWrite: ((err?: Error | null) => void) | undefined;
  private pendingFinal: ((err?: Error | null) => void) | undefined;
  private ackTimer: NodeJS.Timeout | undefined;
  private detachTimer: NodeJS.Timeout | undefined;
  private lastAckSent = 0;
  private lastWindowSent = 0;
  private detachedAt: number | undefined;

  constructor(init: SessionInit) {
    super({
      allowHalfOpen: true,
      readableHighWaterMark: 64 * 1024,
      writableHighWaterMark: 64 * 1024,
    });
    this.role = init.role;
    this.opts = init.options;
    this.output = new SendBuffer(this.opts.outputBufferBytes);
    this.input = new ReceiveBuffer(this.opts.inputBufferBytes);
    // Nothing goes out before the peer's HELLO/WELCOME says how much it takes.
    this.peerWindowEdge = 0;
  }

  /** The session id (hex of the connection id both ends agreed on). */
  get id(): string {
    return this.connId.toString('hex');
  }

  get paths(): FlowpathInfo[] {
    return [...this.flowpaths.values()].map((p) => p.info());
  }

  get remoteAddress(): string | undefined {
    return this.active?.socket.remoteAddress;
  }

  get remotePort(): number | undefined {
    return this.active?.socket.remotePort;
  }

  get localAddress(): string | undefined {
    return this.active?.socket.localAddress;
  }

  get localPort(): number | undefined {
    return this.active?.socket.localPort;
  }

  /** Bytes of the peer's stream received so far, counting its FIN: what HELLO/WELCOME report. */
  get received(): number {
    return this.input.nextSeq + (this.remoteFinDelivered ? 1 : 0);
  }

  /** Bytes held for retransmission and for reordering: what a detached session costs. */
  get bufferedBytes(): number {
    return this.output.size + this.input.buffered + this.readableLength;
  }

  get receiveWindow(): number {
    return Math.max(0, this.opts.inputBufferBytes - this.readableLength - this.input.buffered);
  }

  /** When the session lost its last flowpath, or undefined when it has one. */
  get detachedSince(): number | undefined {
    return this.detachedAt;
  }

  /** Completes establishment: the handshake agreed on the id and the secret. */
  establish(connId: Buffer, secret: Buffer): void {
    this.connId = connId;
    this.secret = secret;
  }

  /**
   * Adds a flowpath that completed its handshake. `peerReceived` is how much of our stream
   * the peer has: everything before it is acknowledged, everything after it is resent.
   */
  adoptPath(path: Flowpath, peerReceived: number, peerWindow: number): void {
    if (this.state === 'closed') {
      path.fail('session closed', { code: ErrorCode.CLOSED, reason: 'session closed' });
      return;
    }
    const old = this.flowpaths.get(path.pathId);
    if (old && old !== path) old.close('replaced by a new flowpath with the same path id');
    const wasDetached = this.state === 'detached';
    const wasConnecting = this.state === 'connecting';
    path.open();
    this.flowpaths.set(path.pathId, path);
    path.on('frame', (frame) => this.onFrame(path, frame));
    queueMicrotask(() => path.deliverHeld());
    path.on('drain', () => this.pump());
    path.once('closed', (reason) => this.onPathClosed(path, reason));
    try {
      this.acknowledge(peerReceived, peerWindow);
    } catch (err) {
      path.fail('bad resume point', { code: ErrorCode.PROTOCOL, reason: (err as Error).message });
      return;
    }
    this.sendNext = peerReceived;
    this.active = path;
    this.state = 'open';
    if (this.detachTimer) clearTimeout(this.detachTimer);
    this.detachTimer = undefined;
    const since = this.detachedAt;
    this.detachedAt = undefined;
    this.emit('path-up', path.info());
    if (wasDetached && since !== undefined)
      this.emit('migrated', { ms: performance.now() - since, pathId: path.pathId });
    if (wasConnecting) this.emit('connect');
    this.pump();
    this.sendAck();
  }

  /**
   * Forces a migration: the client drops its flowpaths and attaches again (from whatever
   * address the host has now). A server moves with `server.move()` instead.
   */
  migrate(): void {
    if (this.role !== 'client') {
      throw new RoamError(
        'ROAM_BAD_INPUT',
        'only the client end of a session migrates; move a server with server.move()',
      );
    }
    if (this.state === 'open') this.dropPaths('migration requested');
  }

  /** Closes every flowpath so the owner re-establishes one (a forced migration). */
  dropPaths(reason: string): void {
    for (const path of [...this.flowpaths.values()]) path.close(reason);
  }

  // ---- Duplex ----------------------------------------------------------------------------

  override _write(
    chunk: Buffer,
    _enc: BufferEncoding,
    callback: (err?: Error | null) => void,
  ): void {
    this.output.append(chunk);
    this.afterAppend(callback);
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (err?: Error | null) => void): void {
    for (const { chunk } of chunks) this.output.append(chunk);
    this.afterAppend(callback);
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.localFinSeq = this.output.endSeq;
    this.pendingFinal = callback;
    this.pump();
  }

  override _read(): void {
    // The application consumed data: tell the peer once the window has opened enough.
    if (this.receiveWindow - this.lastWindowSent >= this.opts.inputBufferBytes / ACK_EVERY_FRACTION)
      this.sendAck();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.state = 'closed';
    if (this.ackTimer) clearTimeout(this.ackTimer);
    if (this.detachTimer) clearTimeout(this.detachTimer);
    this.ackTimer = undefined;
    this.detachTimer = undefined;
    // Tell the peer, or it would take the silence for a move and wait for us for a day.
    // (A session that completed normally has no flowpath left by now.)
    for (const path of this.flowpaths.values()) {
      path.fail('session destroyed', {
        code: ErrorCode.CLOSED,
        reason: err ? err.message.slice(0, 200) : 'session closed',
      });
    }
    this.flowpaths.clear();
    this.active = undefined;
    const pending = this.pendingWrite ?? this.pendingFinal;
    this.pendingWrite = undefined;
    this.pendingFinal = undefined;
    pending?.(err ?? new RoamError('ROAM_SESSION_CLOSED', 'session closed'));
    callback(err);
  }

  // ---- sending -----------------------------------------------------------------------------

  private afterAppend(callback: (err?: Error | null) => void): void {
    this.pump();
    if (this.output.full) this.pendingWrite = callback;
    else callback();
  }

  /** Sends what the active flowpath, the peer's window and the socket's buffer allow. */
  private pump(): void {
    const path = this.active;
    if (!path || path.state !== 'open') return;
    const ack = this.received;
    const window = this.receiveWindow;
    // Frames go out in batches under one cork (one writev for several frames); a batch may
    // pass the socket's high-water mark by at most PUMP_BATCH_BYTES before we wait for 'drain'.
    // A batch starts only on a drained socket, so the bytes queued past it stay bounded.
    if (!path.writable) return;
    let batch = 0;
    path.socket.cork();
    while (this.sendNext < this.output.endSeq) {
      const limit = Math.min(this.output.endSeq, this.peerWindowEdge);
      if (this.sendNext >= limit || path.state !== 'open') break;
      if (!path.writable && batch >= PUMP_BATCH_BYTES) break;
      const slices = this.output.slices(
        this.sendNext,
        Math.min(limit - this.sendNext, this.opts.maxFrameBytes),
      );
      for (const payload of slices) {
        path.send({ type: 'data', seq: this.sendNext, ack, window, fin: false, payload });
        this.sendNext += payload.length;
        batch += payload.length;
      }
      this.noteAckSent(ack, window);
    }
    path.socket.uncork();
    if (this.localFinSeq !== undefined && this.sendNext === this.localFinSeq && path.writable) {
      path.send({
        type: 'data',
        seq: this.localFinSeq,
        ack,
        window,
        fin: true,
        payload: Buffer.alloc(0),
      });
      this.sendNext = this.localFinSeq + 1;
      this.noteAckSent(ack, window);
    }
  }

  private noteAckSent(ack: number, window: number): void {
    this.lastAckSent = ack;
    this.lastWindowSent = window;
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
  }

  private sendAck(): void {
    const path = this.active;
    if (!path || path.state !== 'open') return;
    const ack = this.received;
    const window = this.receiveWindow;
    path.send({ type: 'ack', ack, window });
    this.noteAckSent(ack, window);
  }

  /** Acknowledgments only free the output buffer, so they go out sparingly. */
  private scheduleAck(): void {
    const unacked = this.received - this.lastAckSent;
    if (unacked <= 0) return;
    if (unacked >= this.opts.inputBufferBytes / ACK_EVERY_FRACTION || this.remoteFinDelivered) {
      this.sendAck();
      return;
    }
    if (!this.ackTimer) {
      this.ackTimer = setTimeout(() => {
        this.ackTimer = undefined;
        this.sendAck();
      }, this.opts.ackDelayMs);
    }
  }

  /** The peer has everything before `ack` and may take bytes up to ack + window. */
  private acknowledge(ack: number, window: number): void {
    if (this.localFinSeq !== undefined && ack === this.localFinSeq + 1) {
      this.output.ack(this.localFinSeq);
      if (!this.finAcked) {
        this.finAcked = true;
        const done = this.pendingFinal;
        this.pendingFinal = undefined;
        done?.();
      }
    } else {
      this.output.ack(ack);
    }
    this.peerWindowEdge = Math.max(this.peerWindowEdge, ack + window);
    if (this.sendNext < ack) this.sendNext = ack;
    if (this.pendingWrite && !this.output.full) {
      const resume = this.pendingWrite;
      this.pendingWrite = undefined;
      resume();
    }
    this.checkDone();
  }

  // ---- receiving ---------------------------------------------------------------------------

  private onFrame(path: Flowpath, frame: Frame): void {
    try {
      switch (frame.type) {
        case 'data':
          this.acknowledge(frame.ack, frame.window);
          this.onData(frame.seq, frame.payload, frame.fin);
          this.pump();
          break;
        case 'ack':
          this.acknowledge(frame.ack, frame.window);
          this.pump();
          break;
        case 'error':
          rootLogger().warn(
            { session: this.id, code: frame.code, reason: frame.reason },
            'peer closed a flowpath with an error',
          );
          path.close(`peer error ${frame.code}: ${frame.reason}`);
          if (frame.code === 9)
            this.destroy(
              new RoamError('ROAM_SESSION_RESET', `peer closed the session: ${frame.reason}`),
            );
          break;
        default:
          path.fail(`unexpected ${frame.type} frame`, {
            code: ErrorCode.PROTOCOL,
            reason: `unexpected ${frame.type} frame`,
          });
      }
    } catch (err) {
      // fail() logs the violation with the flowpath's address.
      const code = err instanceof RoamError ? err.code : 'ROAM_PROTOCOL';
      path.fail(`protocol violation ${code}`, {
        code: ErrorCode.PROTOCOL,
        reason: (err as Error).message.slice(0, 200),
      });
    }
  }

  private onData(seq: number, payload: Buffer, fin: boolean): void {
    // Every window we advertise ends at or before what the application consumed plus the
    // input buffer: a peer that sends past it is refused, so unread data stays bounded.
    const consumed = this.input.nextSeq - this.readableLength;
    if (seq + payload.length > consumed + this.opts.inputBufferBytes) {
      throw new RoamError(
        'ROAM_PROTOCOL',
        `peer sent past the receive window: up to ${seq + payload.length}, window ends at ${consumed + this.opts.inputBufferBytes}`,
      );
    }
    if (payload.length > 0) {
      for (const piece of this.input.insert(seq, payload)) this.push(piece);
    }
    if (fin) {
      const finSeq = seq + payload.length;
      if (this.remoteFinSeq !== undefined && this.remoteFinSeq !== finSeq) {
        throw new RoamError(
          'ROAM_PROTOCOL',
          `peer moved its FIN from ${this.remoteFinSeq} to ${finSeq}`,
        );
      }
      this.remoteFinSeq = finSeq;
    }
    if (
      this.remoteFinSeq !== undefined &&
      !this.remoteFinDelivered &&
      this.input.nextSeq === this.remoteFinSeq
    ) {
      this.remoteFinDelivered = true;
      this.push(null);
    }
    this.scheduleAck();
    this.checkDone();
  }

  // ---- paths and lifetime ------------------------------------------------------------------

  private onPathClosed(path: Flowpath, reason: string): void {
    if (this.flowpaths.get(path.pathId) === path) this.flowpaths.delete(path.pathId);
    if (this.state === 'closed') return;
    this.emit('path-down', path.info(), reason);
    if (this.active === path)
      this.active = [...this.flowpaths.values()].find((p) => p.state === 'open');
    if (this.active) {
      this.sendNext = this.output.startSeq;
      this.pump();
      return;
    }
    this.state = 'detached';
    this.detachedAt = performance.now();
    this.emit('migrating', { reason });
    this.detachTimer = setTimeout(() => {
      this.destroy(
        new RoamError(
          'ROAM_SESSION_EXPIRED',
          `session ${this.id} had no flowpath for ${this.opts.detachTimeoutMs} ms and expired`,
        ),
      );
    }, this.opts.detachTimeoutMs);
    this.detachTimer.unref();
  }

  private checkDone(): void {
    if (this.state === 'closed' || !this.finAcked || !this.remoteFinDelivered) return;
    // Our FIN is acknowledged and the peer's is delivered (and acknowledged just now):
    // both directions are complete. Free the transport now; the stream itself ends when the
    // application has read what is still buffered (autoDestroy after 'end' and 'finish').
    this.sendAck();
    this.state = 'closed';
    if (this.ackTimer) clearTimeout(this.ackTimer);
    if (this.detachTimer) clearTimeout(this.detachTimer);
    this.ackTimer = undefined;
    this.detachTimer = undefined;
    const paths = [...this.flowpaths.values()];
    this.flowpaths.clear();
    this.active = undefined;
    setImmediate(() => {
      for (const path of paths) path.close('session complete', 1000);
    });
  }
}
