import type { Socket } from 'node:net';
import { RoamError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import type { BodyFraming } from './body-decoder.js';
import { ClientSide } from './client-side.js';
import { type FlowEvent, type FlowState, type FlowStats, nextState } from './flow-state.js';
import { GatewayCode } from './errors.js';
import { Exchange } from './exchange.js';
import type { RequestHead, ResponseHead } from './head.js';
import type { HeaderList } from './headers.js';
import type { ResolvedOptions } from './options.js';
import { Relay } from './relay.js';
import { ResponseWriter } from './response-writer.js';
import { joinTunnel } from './tunnel.js';
import type { HostPort, Uplink } from './uplink.js';

export type { FlowState, FlowStats } from './flow-state.js';

/**
 * One client connection relayed to its origin (states in flow-state.ts): requests in
 * order — a pipelined request waits, unparsed, until the previous response is complete —
 * over one upstream connection at a time (relay.ts), which a failure replaces.
 */
export class Flow {
  readonly id: number;
  readonly origin: HostPort;
  readonly #client: Socket;
  readonly #opts: ResolvedOptions;
  readonly #log: Logger;
  readonly #onClosed: (flow: Flow) => void;
  readonly #requests: ClientSide;
  readonly #relay: Relay;
  #state: FlowState = 'idle';
  #exchange: Exchange | undefined;
  #uploadHeld = false;
  #requestCount = 0;
  #error: RoamError | undefined;
  #cancelGrace: (() => void) | undefined;

  constructor(
    id: number,
    client: Socket,
    origin: HostPort,
    opts: ResolvedOptions,
    onClosed: (flow: Flow) => void,
  ) {
    this.id = id;
    this.origin = origin;
    this.#client = client;
    this.#opts = opts;
    this.#onClosed = onClosed;
    this.#log = opts.logger.child({ flow: id });
    const log = this.#log;
    this.#relay = new Relay(
      {
        id,
        origin,
        log,
        exchange: () => this.#exchange,
        resumed: () => this.#transition('resumed'),
        migrating: () => this.#transition('failure'),
        fail: (err) => this.#fail(err),
        responseDone: (ex) => {
          if (ex.requestDone) this.#finishExchange();
        },
        uploadDrained: () => {
          this.#uploadHeld = false;
          this.#requests.pump();
        },
        tunnel: (head, upstream, remainder) => this.#startTunnel(head, upstream, remainder),
      },
      opts,
    );
    this.#requests = new ClientSide(client, opts, opts.readBufferBytes, {
      accepting: () => this.#accepting(),
      busy: () => this.#exchange !== undefined && (this.#exchange.requestDone || this.#uploadHeld),
      request: (head, framing) => this.#startExchange(head, framing),
      body: (data) => {
        if (this.#exchange !== undefined) {
          this.#uploadHeld = !this.#relay.writeBody(this.#exchange, data);
        }
      },
      end: (trailers) => this.#requestDone(trailers),
      ended: () => this.#clientEnded(),
      bad: (err) => this.#badRequest(err),
    });
    client.setNoDelay(true);
    client.on('drain', () => this.#relay.resume());
    client.on('error', (err) => log.debug({ err: err.message }, 'client socket error'));
    client.on('close', () => this.#transition('closed'));
    if (client.destroyed) queueMicrotask(() => this.#transition('closed'));
  }

  get state(): FlowState {
    return this.#state;
  }

  get uplink(): Uplink | undefined {
    return this.#relay.uplink;
  }

  stats(): FlowStats {
    const c = this.#client;
    return {
      id: this.id,
      client: `${c.remoteAddress ?? '?'}:${c.remotePort ?? 0}`,
      server: `${this.origin.host}:${this.origin.port}`,
      uplink: this.#relay.uplink?.id,
      state: this.#state,
      requests: this.#requestCount,
      migrations: this.#relay.migrations,
      bytesFromClient: c.bytesRead,
      bytesToClient: c.bytesWritten,
      bytesFromServer: this.#relay.bytesFromServer,
      error: this.#error && { code: this.#error.code, message: this.#error.message },
    };
  }

  /** The uplink carrying this flow failed: move a live response to another uplink. */
  uplinkFailed(): void {
    const why = `uplink ${this.#relay.uplink?.id ?? '?'} failed`;
    if (this.#state === 'tunnel') this.#fail(new RoamError(GatewayCode.UplinkFailed, why));
    else if (this.#accepting()) this.#relay.failure(new RoamError(GatewayCode.UplinkFailed, why));
  }

  /** The uplink carrying this flow looks troubled: open a spare connection on another one. */
  prepareSpare(): boolean {
    return this.#state !== 'tunnel' && this.#accepting() && this.#relay.prepareSpare();
  }

  /** Close the spare connection, if any. */
  dropSpare(): void {
    this.#relay.dropSpare();
  }

  /** Bytes are arriving for this flow's paused upstream socket (see Upstream.queuedMore). */
  queuedMore(): boolean {
    return this.#relay.queuedMore();
  }

  /** The uplink of the spare connection, if one is open. */
  get spareUplink(): Uplink | undefined {
    return this.#relay.spareUplink;
  }

  /** Tear everything down now (gateway shutdown). */
  destroy(): void {
    this.#relay.drop();
    this.#client.destroy();
  }

  /** Reset the client's connection now (a gateway that signals failures with resets). */
  reset(): void {
    this.#relay.drop();
    this.#client.resetAndDestroy();
  }

  #transition(event: FlowEvent): void {
    const from = this.#state;
    this.#state = nextState(from, event);
    if (this.#state === 'closed' && from !== 'closed') this.#cleanup();
  }

  #accepting(): boolean {
    return this.#state === 'idle' || this.#state === 'forwarding' || this.#state === 'resuming';
  }

  #startExchange(head: RequestHead, framing: BodyFraming): void {
    this.#requestCount++;
    const writer = new ResponseWriter(this.#client);
    const ex = new Exchange(head, framing, writer, (kind) => this.#relay.spliced(ex, kind));
    this.#exchange = ex;
    this.#transition('request');
    this.#relay.send(ex);
  }

  #requestDone(trailers: HeaderList): void {
    const ex = this.#exchange;
    if (ex === undefined) return;
    ex.requestDone = true;
    this.#relay.endBody(ex, trailers);
    if (ex.responseDone) this.#finishExchange();
  }

  #clientEnded(): void {
    const ex = this.#exchange;
    if (ex === undefined) this.#close('fin');
    else if (!ex.requestDone) {
      this.#fail(new RoamError(GatewayCode.BadRequest, 'the client closed mid-request'));
    }
  }

  #badRequest(err: RoamError): void {
    if (this.#exchange === undefined) {
      this.#client.write(
        'HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n',
      );
    }
    this.#fail(err);
  }

  #finishExchange(): void {
    const ex = this.#exchange;
    if (ex === undefined) return;
    this.#exchange = undefined;
    this.#transition('response-done');
    if (!ex.keepAlive || this.#requests.finished) this.#close('fin');
    else this.#requests.pump();
  }

  /** End the flow the way a failed server would: the client never gets wrong bytes. */
  #fail(err: RoamError): void {
    if (this.#state === 'closing' || this.#state === 'closed') return;
    this.#error = err;
    const { client, server, uplink } = this.stats();
    this.#log.warn({ code: err.code, err: err.message, client, server, uplink }, 'flow failed');
    const tunnel = this.#state === 'tunnel';
    this.#close(tunnel ? 'reset' : (this.#exchange?.writer.failure ?? 'fin'));
  }

  #close(how: 'fin' | 'reset'): void {
    if (this.#state === 'closing' || this.#state === 'closed') return;
    this.#transition('close');
    this.#exchange?.cancelTimer?.();
    this.#relay.drop();
    if (how === 'reset') {
      this.#client.resetAndDestroy();
      return;
    }
    this.#client.end();
    this.#client.resume(); // read (and drop) until the client's FIN, so the socket can close
    this.#cancelGrace = this.#opts.clock.after(this.#opts.closeGraceMs, () =>
      this.#client.destroy(),
    );
  }

  #cleanup(): void {
    this.#exchange?.cancelTimer?.();
    this.#cancelGrace?.();
    this.#relay.drop();
    this.#client.destroy();
    this.#onClosed(this);
  }

  #startTunnel(head: ResponseHead, upstream: Socket, remainder: Buffer): void {
    this.#transition('upgrade');
    this.#exchange?.cancelTimer?.();
    this.#exchange = undefined;
    this.#client.write(head.raw);
    joinTunnel(this.#client, upstream, remainder, this.#requests.takeRemainder());
  }
}
