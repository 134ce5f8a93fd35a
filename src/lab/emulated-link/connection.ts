import { connect, type Socket } from 'node:net';
import { Direction, type DirectionHooks } from './direction.js';
import type { HostPort, PathParams } from './options.js';

export type DirectionName = 'up' | 'down';

/** What a connection needs from its link; the link owns the live params and the totals. */
export interface ConnectionContext {
  target: HostPort;
  up: PathParams;
  down: PathParams;
  bufferBytes: number;
  now: () => number;
  isStalled: () => boolean;
  hooks: (id: number, direction: DirectionName) => DirectionHooks;
  closed: (conn: Connection) => void;
}

/**
 * One accepted client socket and its socket to the target, joined by an 'up' Direction
 * (client -> target) and a 'down' Direction (target -> client). An error on either side
 * resets the other, as a path that loses one half of a connection would.
 */
export class Connection {
  readonly id: number;
  readonly #client: Socket;
  readonly #ctx: ConnectionContext;
  #server: Socket | undefined;
  #up: Direction | undefined;
  #down: Direction | undefined;
  #failed = false;
  #failPending = false;
  #finished = false;
  /** Sockets not yet 'close'd; the connection is gone when this reaches 0. */
  #live = 1;

  constructor(id: number, client: Socket, ctx: ConnectionContext) {
    this.id = id;
    this.#client = client;
    this.#ctx = ctx;
    client.setNoDelay(true); // Nagle plus delayed ACKs would add ~40 ms of our own delay
    client.on('error', () => this.#fail());
    client.on('close', () => this.#onClose());
    if (ctx.isStalled()) this.#hold();
    else this.#open();
  }

  get queuedBytes(): number {
    return (this.#up?.queuedBytes ?? 0) + (this.#down?.queuedBytes ?? 0);
  }

  stall(): void {
    this.#up?.stall();
    this.#down?.stall();
  }

  /** After resume(): connect a held connection, or let queued work and deferred faults run. */
  resume(): void {
    if (this.#failPending) {
      this.#failPending = false;
      this.#fail();
      return;
    }
    if (this.#server === undefined) {
      if (!this.#client.destroyed) this.#open();
      return;
    }
    this.#up?.kick();
    this.#down?.kick();
  }

  /** Rate or delay changed: re-plan the timers. */
  retime(): void {
    this.#up?.kick();
    this.#down?.kick();
  }

  /** RST both sides, or FIN both sides and close once our FIN is written. */
  cut(reset: boolean): void {
    this.#up?.stop();
    this.#down?.stop();
    for (const socket of [this.#client, this.#server]) {
      if (socket === undefined || socket.destroyed) continue;
      if (reset) socket.resetAndDestroy();
      else socket.destroySoon();
    }
  }

  /** For link.close(): no more traffic, every socket closed. */
  destroy(): void {
    this.#up?.stop();
    this.#down?.stop();
    this.#client.destroy();
    this.#server?.destroy();
  }

  /**
   * Accepted during a stall, like a SYN sent into a black hole: nothing reaches the target
   * until resume(), and whatever the client sends meanwhile is dropped.
   */
  #hold(): void {
    const hooks = this.#ctx.hooks(this.id, 'up');
    const drop = (chunk: Buffer): void => {
      if (this.#server === undefined) hooks.dropped(chunk.length);
    };
    this.#client.on('data', drop);
    // The Direction created by #open() takes over reading; 'data' then has two listeners
    // and `drop` ignores everything once the server socket exists.
  }

  #open(): void {
    const { target, bufferBytes, now, isStalled } = this.#ctx;
    const server = connect({ host: target.host, port: target.port, allowHalfOpen: true });
    this.#server = server;
    this.#live++;
    server.setNoDelay(true);
    server.on('error', () => this.#fail());
    server.on('close', () => this.#onClose());
    const common = { bufferBytes, now, isStalled };
    this.#up = new Direction(this.#client, server, {
      ...common,
      params: this.#ctx.up,
      hooks: this.#ctx.hooks(this.id, 'up'),
    });
    this.#down = new Direction(server, this.#client, {
      ...common,
      params: this.#ctx.down,
      hooks: this.#ctx.hooks(this.id, 'down'),
    });
  }

  #fail(): void {
    if (this.#failed) return;
    // In a black hole the RST vanishes too; the other side learns on resume().
    if (this.#ctx.isStalled()) {
      this.#failPending = true;
      return;
    }
    this.#failed = true;
    this.cut(true);
  }

  #onClose(): void {
    this.#live--;
    if (this.#finished || this.#live > 0) return;
    this.#finished = true;
    this.#up?.stop();
    this.#down?.stop();
    this.#ctx.closed(this);
  }
}
