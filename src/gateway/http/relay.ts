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
  /**
   * The original upstream of a response being moved because its uplink was declared failed:
   * kept open until the re-request's response is accepted, so that if the original uplink
   * recovers first (its bytes arrive again) the migration is cancelled and the response
   * stays where it was (FloMiS: "connection resumption").
   */
  #standby:
    { upstream: Upstream; uplink: Uplink | undefined; receivedAtFailure: number } | undefined;
  /**
   * A connection opened ahead on another uplink while this flow's uplink is suspect (no
   * request sent on it yet): if the uplink is then declared failed, the re-request goes out
   * on it at once, a round trip sooner than over a new connection.
   */
  #spare: { upstream: Upstream; uplink: Uplink } | undefined;
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

  /** The current upstream is paused and the kernel queued more of its bytes since last asked. */
  queuedMore(): boolean {
    return this.#upstream?.queuedMore() ?? false;
  }

  /** The uplink of the spare connection, if one is open. */
  get spareUplink(): Uplink | undefined {
    return this.#spare?.uplink;
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

  /** Drop the upstream connection (and a standby or spare one), counting their bytes. */
  drop(): void {
    this.#dropStandby();
    this.dropSpare();
    this.#dropCurrent();
  }

  /**
   * The uplink looks troubled: open a spare connection to the origin on another uplink, if
   * the live response could be moved there. Returns whether one was opened.
   */
  prepareSpare(): boolean {
    const ex = this.#host.exchange();
    const current = this.#uplink;
    if (ex === undefined || this.#spare !== undefined || this.#standby !== undefined) return false;
    if (current === undefined || ex.reRequest !== undefined || ex.responseDone) return false;
    if (ex.attempts >= this.#opts.maxResumeAttempts) return false;
    const plan = ex.plan(this.#opts);
    if (plan.kind !== 'range' && plan.kind !== 'replay') return false;
    const uplink = this.#opts.pickUplink([current.id]);
    if (uplink === undefined) return false;
    this.#spare = { upstream: this.#connect(uplink), uplink };
    this.#host.log.debug({ uplink: uplink.id }, 'spare connection opened');
    return true;
  }

  /** Close the spare connection (the suspicion cleared, or its uplink failed). */
  dropSpare(): void {
    if (this.#spare === undefined) return;
    this.#serverBytes += this.#spare.upstream.bytesIn;
    this.#spare.upstream.abandon();
    this.#spare = undefined;
  }

  #dropCurrent(): void {
    if (this.#upstream === undefined) return;
    this.#serverBytes += this.#upstream.bytesIn;
    this.#upstream.abandon();
    this.#upstream = undefined;
  }

  #dropStandby(): void {
    if (this.#standby === undefined) return;
    this.#serverBytes += this.#standby.upstream.bytesIn;
    this.#standby.upstream.abandon();
    this.#standby = undefined;
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
    const upstream = this.#connect(uplink);
    this.#upstream = upstream;
    return upstream;
  }

  /** A new upstream connection, not yet in any role. */
  #connect(uplink: Uplink): Upstream {
    // Callbacks check which upstream speaks: the current one, the standby, the spare, or a
    // dropped one.
    const upstream: Upstream = new Upstream(
      { ...this.#opts, uplink, origin: this.#host.origin, limits: this.#opts },
      {
        onEvent: (ev) => {
          if (upstream === this.#upstream) return this.#onEvent(ev);
          return false; // a standby holds its events until it is the current one again
        },
        onBytes: () => {
          const standby = this.#standby;
          // Bytes already on their way to us at the failure prove nothing; later ones do.
          if (upstream !== standby?.upstream) return;
          if (upstream.bytesIn > standby.receivedAtFailure) this.#cancelMigration();
        },
        onDrain: () => {
          if (upstream === this.#upstream) this.#host.uploadDrained();
        },
        onBroken: (err) => {
          if (upstream === this.#upstream) this.failure(err);
          else if (upstream === this.#standby?.upstream) this.#dropStandby();
          else if (upstream === this.#spare?.upstream) this.dropSpare();
        },
        onInvalid: (err) => {
          if (upstream !== this.#upstream) {
            if (upstream === this.#standby?.upstream) this.#dropStandby();
            else if (upstream === this.#spare?.upstream) this.dropSpare();
            return;
          }
          if (this.#host.exchange() !== undefined) this.#host.fail(err);
          else this.#host.log.warn({ code: err.code, err: err.message }, 'idle upstream dropped');
          this.drop();
        },
        onIdleClose: () => {
          if (upstream === this.#upstream) this.drop();
          else if (upstream === this.#standby?.upstream) this.#dropStandby();
          else if (upstream === this.#spare?.upstream) this.dropSpare();
        },
      },
    );
    return upstream;
  }

  /**
   * Bytes arrived on the original upstream while its response was being moved: its uplink
   * is back before the splice. Cancel the migration (abandon the re-request) and carry on
   * from the original, whose parser continues exactly where the client's body stands.
   * Only bytes read after the failure count: events the standby still holds from before
   * are no sign of life (see #open: a standby's events are held until then).
   */
  #cancelMigration(): void {
    const standby = this.#standby;
    const ex = this.#host.exchange();
    if (standby === undefined || ex === undefined || ex.reRequest === undefined) {
      this.#dropStandby();
      return;
    }
    const abandoned = this.#uplink;
    this.#dropCurrent();
    this.#standby = undefined;
    this.#upstream = standby.upstream;
    this.#uplink = standby.uplink;
    ex.reRequest = undefined;
    ex.failedAt = undefined;
    ex.cancelTimer?.();
    ex.cancelTimer = undefined;
    this.#host.resumed();
    const info = {
      flow: this.#host.id,
      uplink: standby.uplink?.id ?? '?',
      abandoned: abandoned?.id ?? '?',
      offset: ex.writer.delivered,
    };
    this.#host.log.info(info, 'migration cancelled: the original uplink delivered first');
    this.#opts.onMigrationCancelled(info);
    standby.upstream.resume();
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

  /** The re-request's response head was accepted: back to forwarding, the original is dropped. */
  #settle(ex: Exchange): void {
    this.#dropStandby();
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
    // Only a response broken off by a health signal (its socket still open, the bytes
    // delivered so far intact) can come back; a broken socket cannot.
    const keep =
      cause.code === GatewayCode.UplinkFailed &&
      ex.reRequest === undefined &&
      ex.writer.headSent &&
      this.#upstream !== undefined &&
      this.#standby === undefined;
    if (keep && this.#upstream !== undefined) {
      const upstream = this.#upstream;
      const receivedAtFailure = upstream.receivedSoFar(this.#opts.kernelPending);
      this.#standby = { upstream, uplink: failed, receivedAtFailure };
      this.#upstream = undefined;
    } else {
      this.#dropCurrent();
    }
    ex.cancelTimer?.();
    ex.cancelTimer = undefined;
    ex.failedAt ??= this.#opts.clock.now();
    const step = nextMigrationStep(
      this.#host.id,
      ex,
      failed,
      cause,
      this.#opts,
      this.#spare?.uplink,
    );
    if (step.kind !== 're-request') this.#dropStandby();
    const spare = step.kind === 're-request' && step.info.spare ? this.#spare : undefined;
    if (spare === undefined) this.dropSpare();
    else this.#spare = undefined;
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
    if (spare !== undefined) this.#upstream = spare.upstream;
    const upstream = spare?.upstream ?? this.#open(step.uplink);
    upstream.send(step.plan.head, ex.request.method);
    const ms = this.#opts.resumeTimeoutMs;
    ex.cancelTimer = this.#opts.clock.after(ms, () =>
      this.failure(new RoamError(GatewayCode.ResumeTimeout, `no usable response within ${ms} ms`)),
    );
  }
}
