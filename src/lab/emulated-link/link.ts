import { EventEmitter } from 'node:events';
import type { Server, Socket } from 'node:net';
import { Connection, type DirectionName } from './connection.js';
import { LinkCounters, type LinkStats } from './counters.js';
import { closeServer, listen } from './listener.js';
import {
  checkDelay,
  checkRate,
  type EmulatedLinkOptions,
  type HostPort,
  type ResolvedOptions,
  resolveOptions,
} from './options.js';

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
  readonly #counters = new LinkCounters(
    (info) => this.emit('drop', info),
    (info) => this.emit('backpressure', info),
  );

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
    return this.#counters.queuedBytes;
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
    return this.#counters.snapshot(this.#conns.size);
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
    const { server, address } = await listen(this.name, at, (s) => this.#accept(s));
    if (this.#closed) {
      await closeServer(server); // close() ran while up() was listening
      return;
    }
    this.#server = server;
    this.#address = address;
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
      hooks: (cid, direction) => this.#counters.hooks(cid, direction),
      closed: (c) => this.#forget(c),
    });
    this.#conns.add(conn);
    this.#counters.connections++;
    this.emit('connection', {
      id,
      remote: { host: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 },
    });
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
