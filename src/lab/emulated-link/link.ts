import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { RoamError } from '../../errors.js';
import { Connection, type DirectionName } from './connection.js';
import type { DirectionHooks } from './direction.js';
import {
  checkDelay,
  checkRate,
  type EmulatedLinkOptions,
  type HostPort,
  type ResolvedOptions,
  resolveOptions,
} from './options.js';

export interface LinkStats {
  /** Connections accepted since start. */
  connections: number;
  /** Connections with at least one socket still open. */
  active: number;
  /** Bytes handed to the target side (client -> target) and to the client side. */
  bytesUp: number;
  bytesDown: number;
  /** Bytes read and thrown away because the link was stalled, in flight ones included. */
  droppedDuringStall: number;
  /** Bytes queued inside the emulator now, all connections and directions. */
  queuedBytes: number;
  /** Largest queue any one direction of any connection has held (bounded by bufferBytes). */
  peakQueuedBytes: number;
}

export interface LinkEvents {
  connection: [info: { id: number; remote: HostPort }];
  cut: [info: { reset: boolean; connections: number; reason: 'cut' | 'down' }];
  drop: [info: { id: number; direction: DirectionName; bytes: number }];
  backpressure: [info: { id: number; direction: DirectionName; paused: boolean }];
}

/**
 * A TCP forwarder on loopback that behaves like a network path: delay, a rate-limited
 * bottleneck, bounded buffering, and faults (stall, cut, down). See docs/emulated-link.md.
 */
export class EmulatedLink extends EventEmitter<LinkEvents> {
  readonly name: string;
  readonly #o: ResolvedOptions;
  readonly #conns = new Set<Connection>();
  readonly #idleWaiters: (() => void)[] = [];
  #server: Server | undefined;
  #address: HostPort;
  #nextId = 1;
  #stalled = false;
  #isDown = false;
  #closed = false;
  #s = { connections: 0, bytesUp: 0, bytesDown: 0, droppedDuringStall: 0, queued: 0, peak: 0 };

  static async start(options: EmulatedLinkOptions): Promise<EmulatedLink> {
    const link = new EmulatedLink(resolveOptions(options));
    await link.#listen(link.#o.listen);
    return link;
  }

  private constructor(o: ResolvedOptions) {
    super();
    this.#o = o;
    this.name = o.name;
    this.#address = { ...o.listen };
  }

  /** Where clients connect. */
  get address(): HostPort {
    return { ...this.#address };
  }

  get connections(): number {
    return this.#conns.size;
  }

  get queuedBytes(): number {
    return this.#s.queued;
  }

  get stalled(): boolean {
    return this.#stalled;
  }

  get isDown(): boolean {
    return this.#isDown;
  }

  setDelay(ms: number): void {
    this.setUpDelay(ms);
    this.setDownDelay(ms);
  }

  setUpDelay(ms: number): void {
    this.#o.up.delayMs = checkDelay('upDelayMs', ms);
    this.#retime();
  }

  setDownDelay(ms: number): void {
    this.#o.down.delayMs = checkDelay('downDelayMs', ms);
    this.#retime();
  }

  setRate(bitsPerSec: number): void {
    this.setUpRate(bitsPerSec);
    this.setDownRate(bitsPerSec);
  }

  setUpRate(bitsPerSec: number): void {
    this.#o.up.rateBitsPerSec = checkRate('upRateBitsPerSec', bitsPerSec);
    this.#retime();
  }

  setDownRate(bitsPerSec: number): void {
    this.#o.down.rateBitsPerSec = checkRate('downRateBitsPerSec', bitsPerSec);
    this.#retime();
  }

  /** Silent black hole in both directions until resume(); in-flight and new bytes are lost. */
  stall(): void {
    if (this.#stalled || this.#closed) return;
    this.#stalled = true;
    for (const c of this.#conns) c.stall();
  }

  resume(): void {
    if (!this.#stalled) return;
    this.#stalled = false;
    for (const c of [...this.#conns]) c.resume();
  }

  /** Kill every live connection now (RST by default, FIN with reset: false). */
  cut(options: { reset?: boolean } = {}): number {
    return this.#cutAll(options.reset ?? true, 'cut');
  }

  /** Refuse new connections (ECONNREFUSED: the listener is closed) and cut existing ones. */
  async down(options: { reset?: boolean } = {}): Promise<void> {
    if (this.#isDown || this.#closed) return;
    this.#isDown = true;
    const server = this.#server;
    this.#server = undefined;
    this.#cutAll(options.reset ?? true, 'down');
    await closeServer(server);
  }

  /** Listen again on the same address. */
  async up(): Promise<void> {
    if (!this.#isDown || this.#closed) return;
    await this.#listen(this.#address);
    this.#isDown = false;
  }

  stats(): LinkStats {
    const { connections, bytesUp, bytesDown, droppedDuringStall, queued, peak } = this.#s;
    return {
      connections,
      active: this.#conns.size,
      bytesUp,
      bytesDown,
      droppedDuringStall,
      queuedBytes: queued,
      peakQueuedBytes: peak,
    };
  }

  /** Stop listening, destroy every socket, cancel every timer; resolves once all are closed. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const server = this.#server;
    this.#server = undefined;
    const idle = new Promise<void>((resolve) => {
      if (this.#conns.size === 0) resolve();
      else this.#idleWaiters.push(resolve);
    });
    for (const c of this.#conns) c.destroy();
    await Promise.all([closeServer(server), idle]);
  }

  async #listen(at: HostPort): Promise<void> {
    const server = createServer({ allowHalfOpen: true }, (socket) => this.#accept(socket));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(at.port, at.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new RoamError(
        'ROAM_LINK_LISTEN',
        `link "${this.name}": cannot listen on ${at.host}:${at.port} (${code}); free the port or use port 0`,
        { cause: err },
      );
    }
    // After listening, an error here concerns one incoming connection (e.g. EMFILE on accept);
    // that client simply fails to connect, which is what a path would do too.
    server.on('error', () => {});
    const bound = server.address();
    if (bound !== null && typeof bound === 'object')
      this.#address = { host: at.host, port: bound.port };
    this.#server = server;
  }

  #accept(socket: Socket): void {
    if (this.#closed || this.#isDown) {
      socket.destroy();
      return;
    }
    const id = this.#nextId++;
    const o = this.#o;
    const conn = new Connection(id, socket, {
      target: o.target,
      up: o.up,
      down: o.down,
      bufferBytes: o.bufferBytes,
      now: o.now,
      isStalled: () => this.#stalled,
      hooks: (cid, direction) => this.#hooks(cid, direction),
      closed: (c) => this.#forget(c),
    });
    this.#conns.add(conn);
    this.#s.connections++;
    this.emit('connection', {
      id,
      remote: { host: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 },
    });
  }

  #hooks(id: number, direction: DirectionName): DirectionHooks {
    const s = this.#s;
    return {
      delivered: (n) => {
        if (direction === 'up') s.bytesUp += n;
        else s.bytesDown += n;
      },
      dropped: (n) => {
        s.droppedDuringStall += n;
        this.emit('drop', { id, direction, bytes: n });
      },
      queued: (delta, nowQueued) => {
        s.queued += delta;
        if (nowQueued > s.peak) s.peak = nowQueued;
      },
      backpressure: (paused) => this.emit('backpressure', { id, direction, paused }),
    };
  }

  #forget(conn: Connection): void {
    this.#conns.delete(conn);
    if (this.#conns.size === 0) for (const w of this.#idleWaiters.splice(0)) w();
  }

  #cutAll(reset: boolean, reason: 'cut' | 'down'): number {
    const n = this.#conns.size;
    for (const c of this.#conns) c.cut(reset);
    this.emit('cut', { reset, connections: n, reason });
    return n;
  }

  #retime(): void {
    for (const c of this.#conns) c.retime();
  }
}

function closeServer(server: Server | undefined): Promise<void> {
  if (server === undefined) return Promise.resolve();
  return new Promise((resolve) => server.close(() => resolve()));
}
