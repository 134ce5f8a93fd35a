import type { Socket } from 'node:net';
import { RoamError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import type { BodyFraming } from './body-decoder.js';
import { asRoamError, GatewayCode } from './errors.js';
import type { Exchange, SpliceKind } from './exchange.js';
import { nextMigrationStep, spliceInfo } from './migration.js';
import type { ResponseHead } from './head.js';
import type { HeaderList } from './headers.js';
import type { ResolvedOptions } from './options.js';
import type { ResponseEvent } from './response-parser.js';
import { Upstream } from './upstream.js';
import type { HostPort, Uplink } from './uplink.js';

/** What the relay needs from its flow; the flow owns the state machine and the client. */
export interface RelayHost {
  readonly id: number;
  readonly origin: HostPort;
  readonly log: Logger;
  /** The exchange whose response is being relayed, if any. */
  exchange(): Exchange | undefined;
  /** The re-request was answered acceptably: resuming → forwarding. */
  resumed(): void;
  /** A re-request is on its way: forwarding → resuming. */
  migrating(): void;
  fail(err: RoamError): void;
  responseDone(ex: Exchange): void;
  uploadDrained(): void;
  tunnel(head: ResponseHead, upstream: Socket, remainder: Buffer): void;
}

/**
 * The origin half of a flow: the current uplink and upstream connection, response events
 * into the current exchange, and migration: when the response breaks off, re-request the
 * rest over another uplink and splice the new response in (resume.ts decides what fits).
 */
export class Relay {
  readonly #host: RelayHost;
  readonly #opts: ResolvedOptions;
  #uplink: Uplink | undefined;
  #upstream: Upstream | undefined;
  #serverBytes = 0;
  #migrations = 0;

  constructor(host: RelayHost, opts: ResolvedOptions) {
    this.#host = host;
    this.#opts = opts;
  }

  get uplink(): Uplink | undefined {
    return this.#uplink;
  }

  get bytesFromServer(): number {
    return this.#serverBytes + (this.#upstream?.bytesIn ?? 0);
  }

  get migrations(): number {
    return this.#migrations;
  }

  /** Send a new exchange's request head: on the open connection if reusable, else a new one. */
  send(ex: Exchange): void {
    let upstream = this.#upstream;
    if (upstream === undefined || !upstream.reusable) {
      this.drop();
      this.#uplink ??= this.#opts.pickUplink([]);
      if (this.#uplink === undefined) {
        this.#host.fail(new RoamError(GatewayCode.NoUplink, 'no uplink available'));
        return;
      }
      upstream = this.#open(this.#uplink);
    }
    upstream.send(ex.request.raw, ex.request.method);
  }

  /** Returns false when the upstream socket is full; uploadDrained() follows. */
  writeBody(ex: Exchange, data: Buffer): boolean {
    return this.#upstream?.writeBody(data, ex.requestFraming.kind === 'chunked') ?? true;
  }

  endBody(ex: Exchange, trailers: HeaderList): void {
    this.#upstream?.endBody(ex.requestFraming.kind === 'chunked', trailers);
  }

  /** The client socket drained: take response events again. */
  resume(): void {
    this.#upstream?.resume();
  }

  /** Drop the upstream connection, counting its bytes. */
  drop(): void {
    if (this.#upstream === undefined) return;
    this.#serverBytes += this.#upstream.bytesIn;
    this.#upstream.abandon();
    this.#upstream = undefined;
  }

  /** The uplink failed, or the upstream connection broke: migrate whatever is live. */
  failure(err: RoamError): void {
    const ex = this.#host.exchange();
    if (ex !== undefined) {
      try {
        this.#migrate(ex, err);
      } catch (bug) {
        this.#host.fail(asRoamError(bug)); // never let a flow's trouble escape into the process
      }
      return;
    }
    const failed = this.#uplink;
    this.drop();
    if (failed !== undefined && err.code === GatewayCode.UplinkFailed) {
      this.#uplink = this.#opts.pickUplink([failed.id]);
    }
  }

  #open(uplink: Uplink): Upstream {
    const upstream = new Upstream(
      { ...this.#opts, uplink, origin: this.#host.origin, limits: this.#opts },
      {
        onEvent: (ev) => this.#onEvent(ev),
        onDrain: () => this.#host.uploadDrained(),
        onBroken: (err) => this.failure(err),
        onInvalid: (err) => {
          if (this.#host.exchange() !== undefined) this.#host.fail(err);
          else this.#host.log.warn({ code: err.code, err: err.message }, 'idle upstream dropped');
          this.drop();
        },
        onIdleClose: () => this.drop(),
      },
    );
    this.#upstream = upstream;
    return upstream;
  }

  #onEvent(ev: ResponseEvent): boolean {
    const ex = this.#host.exchange();
    if (ex === undefined) return true;
    try {
      switch (ev.type) {
        case 'interim':
          return ex.reRequest !== undefined || ex.writer.headSent || ex.writer.interim(ev.head.raw);
        case 'head':
          return this.#onHead(ex, ev.head, ev.framing);
        case 'body':
          return this.#onBody(ex, ev.data);
        case 'end':
          ex.end(ev.trailers);
          this.#host.responseDone(ex);
          return true;
      }
    } catch (err) {
      this.#host.fail(asRoamError(err));
      return false;
    }
  }

  #onHead(ex: Exchange, head: ResponseHead, framing: BodyFraming | 'upgrade'): boolean {
    const plan = ex.reRequest;
    if (plan?.kind === 'range') return this.#onResumedHead(ex, head, framing);
    if (plan?.kind === 'replay') this.#settle(ex);
    if (framing === 'upgrade') {
      const upstream = this.#upstream;
      this.#upstream = undefined;
      if (upstream !== undefined) {
        this.#serverBytes += upstream.bytesIn;
        const { socket, remainder } = upstream.detach();
        this.#host.tunnel(head, socket, remainder);
      }
      return false;
    }
    return ex.head(head, framing);
  }

  #onResumedHead(ex: Exchange, head: ResponseHead, framing: BodyFraming | 'upgrade'): boolean {
    const verdict = ex.resumed(head, framing, this.#opts);
    if (verdict.kind === 'reject') {
      this.#host.fail(new RoamError(GatewayCode.ResumeRejected, `resume: ${verdict.reason}`));
      return false;
    }
    this.#settle(ex);
    if (verdict.kind === 'complete') {
      this.drop();
      ex.complete();
      this.#host.responseDone(ex);
      return false;
    }
    if (verdict.kind === 'discard') {
      ex.cancelTimer = this.#opts.clock.after(this.#opts.maxDiscardMs, () =>
        this.#host.fail(new RoamError(GatewayCode.ResumeTimeout, 'catching up took too long')),
      );
    }
    return true;
  }

  /** The re-request's response head was accepted: back to forwarding. */
  #settle(ex: Exchange): void {
    ex.cancelTimer?.();
    ex.cancelTimer = undefined;
    this.#host.resumed();
  }

  #onBody(ex: Exchange, data: Buffer): boolean {
    const wasCatchingUp = ex.catchingUp;
    const outcome = ex.body(data);
    if (wasCatchingUp && !ex.catchingUp) {
      ex.cancelTimer?.();
      ex.cancelTimer = undefined;
    }
    if (outcome !== 'cut') return outcome === 'more';
    this.drop(); // a discard splice inside a client range: the rest of the 200 is not needed
    ex.complete();
    this.#host.responseDone(ex);
    return false;
  }

  /** Called by the exchange when the first byte from a new upstream reaches the client. */
  spliced(ex: Exchange, kind: SpliceKind): void {
    this.#migrations++;
    const info = spliceInfo(this.#host.id, ex, this.#uplink, kind, this.#opts.clock.now());
    this.#host.log.info(info, 'response spliced');
    this.#opts.onSplice(info);
  }

  /** Re-request the rest of the response over another uplink (see migration.ts). */
  #migrate(ex: Exchange, cause: RoamError): void {
    const failed = this.#uplink;
    this.drop();
    ex.cancelTimer?.();
    ex.cancelTimer = undefined;
    ex.failedAt ??= this.#opts.clock.now();
    const step = nextMigrationStep(this.#host.id, ex, failed, cause, this.#opts);
    switch (step.kind) {
      case 'give-up':
        this.#host.fail(step.error);
        return;
      case 'complete':
        ex.complete();
        this.#host.responseDone(ex);
        return;
      case 're-request':
        break;
    }
    ex.attempts++;
    this.#host.log.info(step.info, 'migrating response');
    this.#opts.onMigration(step.info);
    this.#uplink = step.uplink;
    ex.reRequest = step.plan;
    this.#host.migrating();
    this.#open(step.uplink).send(step.plan.head, ex.request.method);
    const ms = this.#opts.resumeTimeoutMs;
    ex.cancelTimer = this.#opts.clock.after(ms, () =>
      this.failure(new RoamError(GatewayCode.ResumeTimeout, `no usable response within ${ms} ms`)),
    );
  }
}
