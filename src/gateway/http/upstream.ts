import type { Socket } from 'node:net';
import { RoamError } from '../../errors.js';
import { lastChunk, writeChunk } from './chunked.js';
import type { Clock } from '../../clock/clock.js';
import { asRoamError, GatewayCode } from './errors.js';
import type { HeadLimits } from './head.js';
import { headerTokens, type HeaderList } from './headers.js';
import { type ResponseEvent, ResponseParser } from './response-parser.js';
import type { ConnectFn, HostPort, Uplink } from './uplink.js';

/** What an Upstream reports to its flow. After abandon(), it reports nothing. */
export interface UpstreamSink {
  /** One response event; return false to get no more until resume(). */
  onEvent(ev: ResponseEvent): boolean;
  /** The socket can take more request bytes. */
  onDrain(): void;
  /** The connection failed, timed out, or closed with a response outstanding: resumable. */
  onBroken(err: RoamError): void;
  /** The server sent something unparseable: not worth resuming from the same origin. */
  onInvalid(err: RoamError): void;
  /** Closed between responses: nothing lost, the connection is just not reusable. */
  onIdleClose(): void;
  /** Bytes arrived from the origin (before they are parsed): the path is alive. */
  onBytes?(): void;
}

export interface UpstreamOptions {
  readonly uplink: Uplink;
  readonly origin: HostPort;
  readonly connect: ConnectFn;
  readonly limits: HeadLimits;
  readonly clock: Clock;
  readonly connectTimeoutMs: number;
  /** Parsed-but-unread bytes above which the socket is paused. */
  readonly readBufferBytes: number;
  /** Bytes waiting in the socket's kernel receive queue (see HttpEngineOptions). */
  readonly kernelPending?: (socket: Socket) => number;
  /** Fresh bytes arrived through this uplink (not ones that waited while we were paused). */
  readonly onDelivery?: (uplinkId: string) => void;
}

/*
 * One TCP connection to the origin through one uplink, with its response parser.
 *
 *   connecting ──connect──▶ open ──EOF / error──▶ ended ──parser drained──▶ closed
 *        │                   │                                               ▲
 *        └──error / connect timeout / abandon()──────────────────────────────┘
 *
 * "ended": the socket is gone but bytes it delivered may still sit unread in the parser
 * (the client was slow); they are still relayed, and only then is the loss reported, as
 * idle (between responses: nothing lost) or broken (a response was cut off).
 *
 * Response events are pushed to the sink one at a time; a sink that returns false holds
 * them (the client socket is full), unread bytes pile up in the parser up to
 * readBufferBytes, then the socket is paused: backpressure reaches the origin's TCP window.
 */
type State = 'connecting' | 'open' | 'ended' | 'closed';
type Event = 'connected' | 'lost' | 'closed';

export class Upstream {
  readonly uplink: Uplink;
  readonly #socket: Socket;
  readonly #parser: ResponseParser;
  readonly #sink: UpstreamSink;
  readonly #readBufferBytes: number;
  readonly #label: string;
  #state: State = 'connecting';
  #cancelConnectTimer: () => void;
  #lostReason = '';
  #held = false;
  #pumping = false;
  #keepAlive = true;
  #bytesIn = 0;
  #bytesOut = 0;
  #paused = false;
  #queuedSeen: number | undefined;
  /** Bytes that waited in buffers while the socket was paused: read later, no sign of life. */
  #stale = 0;
  readonly #kernelPending: (socket: Socket) => number;
  readonly #onDelivery: ((uplinkId: string) => void) | undefined;

  constructor(opts: UpstreamOptions, sink: UpstreamSink) {
    this.uplink = opts.uplink;
    this.#sink = sink;
    this.#readBufferBytes = opts.readBufferBytes;
    this.#kernelPending = opts.kernelPending ?? (() => Number.POSITIVE_INFINITY);
    this.#onDelivery = opts.onDelivery;
    this.#parser = new ResponseParser(opts.limits);
    this.#label = `${opts.origin.host}:${opts.origin.port} via uplink ${opts.uplink.id}`;
    const { localAddress } = opts.uplink;
    this.#socket = opts.connect({ ...opts.origin, localAddress, uplink: opts.uplink });
    this.#socket.setNoDelay(true);
    this.#cancelConnectTimer = opts.clock.after(opts.connectTimeoutMs, () =>
      this.#fail(`connecting timed out after ${opts.connectTimeoutMs} ms`),
    );
    this.#socket.on('connect', () => this.#transition('connected'));
    this.#socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    this.#socket.on('end', () => this.#onLost('connection closed by the server'));
    this.#socket.on('error', (err) => this.#onLost(err.message));
    this.#socket.on('close', () => this.#onLost('connection closed'));
    this.#socket.on('drain', () => {
      if (this.#state === 'open') this.#sink.onDrain();
    });
  }

  /**
   * Bytes this connection has received from the network, counting those still waiting in
   * Node's stream buffer and in the kernel's receive queue (`kernelPending`).
   */
  receivedSoFar(kernelPending: (socket: Socket) => number): number {
    return this.#bytesIn + this.#socket.readableLength + kernelPending(this.#socket);
  }

  get bytesIn(): number {
    return this.#bytesIn;
  }

  get bytesOut(): number {
    return this.#bytesOut;
  }

  /**
   * While the socket is paused (the client is slow), whether the kernel has queued more of
   * this connection's bytes since the last call: they are arriving, we just do not read them.
   * The first call of a pause only takes the measure.
   */
  queuedMore(): boolean {
    if (!this.#paused || this.#state !== 'open') {
      this.#queuedSeen = undefined;
      return false;
    }
    // Node goes on reading into its own buffer for a while after pause(): count both.
    const queued = this.#socket.readableLength + this.#kernelPending(this.#socket);
    const more = this.#queuedSeen !== undefined && queued > this.#queuedSeen;
    this.#queuedSeen = Number.isFinite(queued) ? queued : undefined;
    return more;
  }

  /** Open, between responses, and neither side asked to close. */
  get reusable(): boolean {
    return this.#state === 'open' && this.#keepAlive && this.#parser.idle;
  }

  /** Send a request head; its response is expected next. */
  send(head: Buffer, method: string): boolean {
    this.#parser.expect(method);
    return this.#write(head);
  }

  writeBody(data: Buffer, chunked: boolean): boolean {
    if (!chunked) return this.#write(data);
    this.#bytesOut += data.length;
    return writeChunk(this.#socket, data);
  }

  endBody(chunked: boolean, trailers: HeaderList): boolean {
    return chunked ? this.#write(lastChunk(trailers)) : true;
  }

  /** The sink can take events again. */
  resume(): void {
    this.#held = false;
    this.#pump();
  }

  /** Drop the connection silently: no more callbacks. Used when its uplink failed. */
  abandon(): void {
    this.#transition('closed');
    this.#socket.destroy();
  }

  /** For an upgraded connection: the socket and the bytes after the 101, detached from us. */
  detach(): { socket: Socket; remainder: Buffer } {
    this.#transition('closed');
    for (const event of ['data', 'end', 'drain', 'error', 'close']) {
      this.#socket.removeAllListeners(event);
    }
    return { socket: this.#socket, remainder: this.#parser.takeRemainder() };
  }

  #transition(event: Event): void {
    const from = this.#state;
    switch (from) {
      case 'connecting':
        this.#cancelConnectTimer();
        this.#state = event === 'connected' ? 'open' : event === 'lost' ? 'ended' : 'closed';
        return;
      case 'open':
        if (event !== 'connected') this.#state = event === 'lost' ? 'ended' : 'closed';
        return;
      case 'ended':
        if (event === 'closed') this.#state = 'closed';
        return;
      case 'closed':
        return;
      default: {
        const never: never = from;
        throw new Error(`unknown upstream state ${String(never)}`);
      }
    }
  }

  #write(buf: Buffer): boolean {
    this.#bytesOut += buf.length;
    return this.#socket.write(buf);
  }

  #onData(chunk: Buffer): void {
    if (this.#state === 'closed') return;
    this.#bytesIn += chunk.length;
    const stale = Math.min(this.#stale, chunk.length);
    this.#stale -= stale;
    if (chunk.length > stale) this.#onDelivery?.(this.uplink.id);
    this.#sink.onBytes?.();
    if (this.#isClosed()) return; // the sink may have abandoned us
    this.#parser.push(chunk);
    this.#pump();
  }

  #onLost(why: string): void {
    if (this.#state !== 'connecting' && this.#state !== 'open') return;
    this.#lostReason = why;
    this.#parser.finish();
    this.#transition('lost');
    this.#pump();
  }

  #pump(): void {
    if (this.#pumping || this.#isClosed()) return;
    this.#pumping = true;
    try {
      while (!this.#held && !this.#isClosed()) {
        let ev: ResponseEvent | undefined;
        try {
          ev = this.#parser.next();
        } catch (err) {
          this.#close();
          this.#sink.onInvalid(asRoamError(err));
          return;
        }
        if (ev === undefined) {
          if (this.#state === 'ended') this.#reportLoss();
          break;
        }
        if (ev.type === 'head') this.#noteConnection(ev.head.version, ev.head.headers);
        if (!this.#sink.onEvent(ev)) this.#held = true;
      }
    } finally {
      this.#pumping = false;
    }
    // Only a held sink pauses reading: otherwise what is left is an incomplete head or line,
    // which the parser's own limits bound (it needs more bytes to finish or to refuse it).
    if (this.#state !== 'open') return;
    if (this.#held && this.#parser.buffered >= this.#readBufferBytes) {
      this.#paused = true;
      this.#socket.pause();
    } else {
      if (this.#paused) {
        // What waited in Node's buffer and the kernel's queue meanwhile is old news.
        this.#paused = false;
        this.#stale = this.#socket.readableLength + this.#kernelPending(this.#socket);
      }
      this.#socket.resume();
    }
  }

  /** A method, not an inline test: sink callbacks change the state behind TypeScript's back. */
  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  #noteConnection(version: string, headers: HeaderList): void {
    const tokens = headerTokens(headers, 'connection');
    if (tokens.includes('close') || (version === '1.0' && !tokens.includes('keep-alive'))) {
      this.#keepAlive = false;
    }
  }

  /** Every byte the socket delivered was relayed: was anything cut off? */
  #reportLoss(): void {
    const idle = this.#parser.idle;
    this.#close();
    if (idle) this.#sink.onIdleClose();
    else
      this.#sink.onBroken(
        new RoamError(GatewayCode.Upstream, `${this.#label}: ${this.#lostReason}`),
      );
  }

  #fail(why: string): void {
    if (this.#state === 'closed') return;
    this.#close();
    this.#sink.onBroken(new RoamError(GatewayCode.Upstream, `${this.#label}: ${why}`));
  }

  #close(): void {
    this.#transition('closed');
    this.#socket.destroy();
  }
}
