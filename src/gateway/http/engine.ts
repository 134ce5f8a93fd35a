import { once } from 'node:events';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { Flow, type FlowStats } from './flow.js';
import { type HttpEngineOptions, type ResolvedOptions, resolveOptions } from './options.js';
import type { HostPort } from './uplink.js';

export interface ListenOptions {
  host?: string;
  port?: number;
  /** Every connection accepted here goes to this origin (instead of options.origin). */
  origin?: HostPort;
}

/**
 * The gateway's HTTP engine: adopts intercepted client connections, one Flow each, and
 * moves live responses off an uplink when told it failed. Sockets come either from
 * listen() or from the caller (handle()); upstream sockets from options.connect.
 */
export class HttpEngine {
  readonly #opts: ResolvedOptions;
  readonly #flows = new Map<number, Flow>();
  readonly #servers = new Set<Server>();
  readonly #closedWaiters = new Set<() => void>();
  #nextId = 1;
  #closing = false;

  constructor(options: HttpEngineOptions) {
    this.#opts = resolveOptions(options);
  }

  /** Relay one accepted client connection (it must allow half-open: allowHalfOpen true). */
  handle(client: Socket, origin: HostPort = this.#opts.origin(client)): Flow {
    const flow = new Flow(this.#nextId++, client, origin, this.#opts, (f) => this.#closed(f));
    this.#flows.set(flow.id, flow);
    if (this.#closing) flow.destroy();
    return flow;
  }

  /** Accept client connections on an address of our own (tests, and REDIRECT-style setups). */
  async listen(opts: ListenOptions = {}): Promise<AddressInfo> {
    const server = createServer({ allowHalfOpen: true }, (client) => {
      this.handle(client, opts.origin ?? this.#opts.origin(client));
    });
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1');
    await once(server, 'listening');
    this.#servers.add(server);
    return server.address() as AddressInfo;
  }

  flows(): Flow[] {
    return [...this.#flows.values()];
  }

  flow(id: number): Flow | undefined {
    return this.#flows.get(id);
  }

  stats(): FlowStats[] {
    return this.flows().map((f) => f.stats());
  }

  /**
   * An uplink looks troubled (no probe answered for a while, not yet declared failed): open
   * a spare connection on another uplink for each of its live responses that could be moved,
   * up to maxSpares in all, so that if the failure is declared the re-request leaves at once
   * instead of after a connect round trip. Returns how many were opened.
   */
  uplinkSuspect(uplinkId: string): number {
    let open = 0;
    for (const flow of this.#flows.values()) if (flow.spareUplink !== undefined) open++;
    let n = 0;
    for (const flow of this.#flows.values()) {
      if (open >= this.#opts.maxSpares) break;
      if (flow.uplink?.id !== uplinkId || !flow.prepareSpare()) continue;
      open++;
      n++;
    }
    return n;
  }

  /**
   * Whether bytes arrived through the uplink since the last call, into upstream sockets that
   * are paused because their clients are slow (onDelivery sees only what is read). The
   * health monitor asks while an uplink is silent; one ioctl per paused socket on it.
   */
  uplinkReceiving(uplinkId: string): boolean {
    let receiving = false;
    for (const flow of this.#flows.values()) {
      // Every socket is asked, so that each one's measure stays current.
      if (flow.uplink?.id === uplinkId && flow.queuedMore()) receiving = true;
    }
    return receiving;
  }

  /** The uplink answers again: close the spare connections opened for its flows. */
  uplinkCleared(uplinkId: string): void {
    for (const flow of this.#flows.values()) {
      if (flow.uplink?.id === uplinkId) flow.dropSpare();
    }
  }

  /** An uplink failed: every flow on it migrates (or, when idle, moves on). */
  uplinkFailed(uplinkId: string): number {
    // Spares waiting on the failed uplink (for flows of another suspect one) are useless now.
    for (const flow of this.#flows.values()) {
      if (flow.spareUplink?.id === uplinkId) flow.dropSpare();
    }
    let n = 0;
    for (const flow of this.#flows.values()) {
      if (flow.uplink?.id !== uplinkId) continue;
      flow.uplinkFailed();
      n++;
    }
    return n;
  }

  /**
   * An uplink failed and responses are not to be moved (splicing off): reset the client
   * connections of every flow on it, so clients learn at once. Returns how many.
   */
  resetUplink(uplinkId: string): number {
    let n = 0;
    for (const flow of [...this.#flows.values()]) {
      if (flow.uplink?.id !== uplinkId) continue;
      flow.reset();
      n++;
    }
    return n;
  }

  /** Stop listening, destroy every flow, and resolve once all their sockets are closed. */
  async close(): Promise<void> {
    this.#closing = true;
    const servers = [...this.#servers].map(
      (s) => new Promise<void>((resolve) => s.close(() => resolve())),
    );
    this.#servers.clear();
    for (const flow of this.#flows.values()) flow.destroy();
    const drained = new Promise<void>((resolve) => {
      if (this.#flows.size === 0) resolve();
      else this.#closedWaiters.add(resolve);
    });
    await Promise.all([...servers, drained]);
  }

  #closed(flow: Flow): void {
    this.#flows.delete(flow.id);
    this.#opts.onFlowClosed(flow.stats());
    if (this.#flows.size > 0) return;
    for (const resolve of this.#closedWaiters) resolve();
    this.#closedWaiters.clear();
  }
}
