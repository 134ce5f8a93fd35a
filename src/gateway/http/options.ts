import { Socket } from 'node:net';
import { RoamError } from '../../errors.js';
import { loadNative } from '../../native/addon.js';
import { type Logger, rootLogger } from '../../log/logger.js';
import { type Clock, systemClock } from '../../clock/clock.js';
import type { FlowStats } from './flow-state.js';
import type { HeadLimits } from './head.js';
import { type ConnectFn, defaultConnect, type HostPort, type PickUplink } from './uplink.js';

export interface MigrationInfo {
  readonly flow: number;
  readonly from: string | undefined;
  readonly to: string;
  /** Body bytes the client had when the response broke off: where the re-request starts. */
  readonly offset: number;
  readonly attempt: number;
  readonly reason: string;
  /** The re-request went over a spare connection opened when the uplink turned suspect. */
  readonly spare: boolean;
}

export interface SpliceInfo {
  readonly flow: number;
  readonly uplink: string;
  readonly kind: 'range' | 'discard' | 'replay' | 'complete';
  readonly offset: number;
  /** Clock time of the failure that started this migration. */
  readonly failedAt: number;
  /** Clock time the first byte from the new upstream was handed to the client. */
  readonly splicedAt: number;
}

/** The original uplink delivered again before the re-request's response was accepted. */
export interface MigrationCancelledInfo {
  readonly flow: number;
  /** The uplink the response stays on (the original one). */
  readonly uplink: string;
  /** The uplink whose re-request was abandoned. */
  readonly abandoned: string;
  readonly offset: number;
}

export interface HttpEngineOptions {
  /** Chooses an uplink for new upstream connections; see PickUplink. Required. */
  pickUplink: PickUplink;
  /**
   * The origin a client connection was headed for. Default: the client socket's local
   * address and port, which is the original destination under TPROXY.
   */
  origin?: (client: Socket) => HostPort;
  /** Opens upstream sockets; default net.connect bound to the uplink's localAddress. */
  connect?: ConnectFn;
  clock?: Clock;
  logger?: Logger;
  /** Largest head or trailer section, bytes; default 64 KiB. */
  maxHeadBytes?: number;
  /** Most header fields in a head or trailer section; default 100. */
  maxHeaders?: number;
  /** Unparsed bytes held per direction before the socket is paused; default 64 KiB. */
  readBufferBytes?: number;
  /** Upstream connect timeout, ms; default 10 000. */
  connectTimeoutMs?: number;
  /** From a failure to an accepted response head on the new uplink, ms; default 10 000. */
  resumeTimeoutMs?: number;
  /** Re-requests tried for one response before giving up; default 4. */
  maxResumeAttempts?: number;
  /** Prefix bytes downloaded again and discarded when the origin ignores Range; default 16 MiB. */
  maxDiscardBytes?: number;
  /** Time allowed to catch up (discard) before the splice, ms; default 20 000. */
  maxDiscardMs?: number;
  /** How long a closing client connection may take to flush, ms; default 5 000. */
  closeGraceMs?: number;
  /**
   * Most spare upstream connections open at once (uplinkSuspect() opens them, one per live
   * response, so a migration that follows skips the connect round trip); 0: none. Default 64.
   */
  maxSpares?: number;
  /** A live response is being moved: the re-request is on its way. */
  onMigration?: (info: MigrationInfo) => void;
  /** The first byte of a moved response reached the client. */
  onSplice?: (info: SpliceInfo) => void;
  /** A pending migration was cancelled because the original upstream delivered again. */
  onMigrationCancelled?: (info: MigrationCancelledInfo) => void;
  /**
   * Bytes waiting in a socket's kernel receive queue. Bytes beyond these (and Node's own
   * buffer) at the failure prove the original uplink is back. Default: ioctl FIONREAD
   * through the native addon; without the addon, Infinity (migrations are never cancelled).
   */
  kernelPending?: (socket: Socket) => number;
  /** A client connection closed; its final stats (with the error code if it failed). */
  onFlowClosed?: (stats: FlowStats) => void;
  /**
   * Bytes from an origin arrived through this uplink just now (bytes that waited in buffers
   * while a socket was paused do not count): the gateway's health monitor takes it as proof
   * that the uplink works. Called for every read: keep it cheap.
   */
  onDelivery?: (uplinkId: string) => void;
}

export interface ResolvedOptions extends HeadLimits {
  readonly pickUplink: PickUplink;
  readonly origin: (client: Socket) => HostPort;
  readonly connect: ConnectFn;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly readBufferBytes: number;
  readonly connectTimeoutMs: number;
  readonly resumeTimeoutMs: number;
  readonly maxResumeAttempts: number;
  readonly maxDiscardBytes: number;
  readonly maxDiscardMs: number;
  readonly closeGraceMs: number;
  readonly maxSpares: number;
  readonly onMigration: (info: MigrationInfo) => void;
  readonly onSplice: (info: SpliceInfo) => void;
  readonly onMigrationCancelled: (info: MigrationCancelledInfo) => void;
  readonly kernelPending: (socket: Socket) => number;
  readonly onFlowClosed: (stats: FlowStats) => void;
  readonly onDelivery: ((uplinkId: string) => void) | undefined;
}

const KiB = 1024;

export const defaultOptions = {
  maxHeadBytes: 64 * KiB,
  maxHeaders: 100,
  readBufferBytes: 64 * KiB,
  connectTimeoutMs: 10_000,
  resumeTimeoutMs: 10_000,
  maxResumeAttempts: 4,
  maxDiscardBytes: 16 * KiB * KiB,
  maxDiscardMs: 20_000,
  closeGraceMs: 5_000,
  maxSpares: 64,
} as const;

type Numeric = keyof typeof defaultOptions;

/** Defaults filled in and every value checked; a bad one throws ROAM_BAD_INPUT. */
export function resolveOptions(opts: HttpEngineOptions): ResolvedOptions {
  if (typeof opts?.pickUplink !== 'function') {
    throw new RoamError('ROAM_BAD_INPUT', 'pickUplink(excluding) is required');
  }
  const num = (name: Numeric, min: number): number => {
    const v = opts[name] ?? defaultOptions[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      throw new RoamError(
        'ROAM_BAD_INPUT',
        `${name} must be an integer >= ${min}, got ${String(v)}`,
      );
    }
    return v;
  };
  const logger = opts.logger ?? rootLogger().child({ component: 'gateway-http' });
  const connect = opts.connect ?? defaultConnect;
  return {
    pickUplink: guarded(logger, 'pickUplink', opts.pickUplink, undefined),
    origin: opts.origin ?? ((c) => ({ host: c.localAddress ?? '', port: c.localPort ?? 0 })),
    // A connect() that throws (say, a local address gone) fails like a refused connection.
    connect: (req) => {
      try {
        return connect(req);
      } catch (err) {
        const socket = new Socket();
        process.nextTick(() => socket.destroy(err as Error));
        return socket;
      }
    },
    clock: opts.clock ?? systemClock,
    logger,
    maxHeadBytes: num('maxHeadBytes', 1024),
    maxHeaders: num('maxHeaders', 1),
    readBufferBytes: num('readBufferBytes', 1024),
    connectTimeoutMs: num('connectTimeoutMs', 1),
    resumeTimeoutMs: num('resumeTimeoutMs', 1),
    maxResumeAttempts: num('maxResumeAttempts', 1),
    maxDiscardBytes: num('maxDiscardBytes', 0),
    maxDiscardMs: num('maxDiscardMs', 1),
    closeGraceMs: num('closeGraceMs', 1),
    maxSpares: num('maxSpares', 0),
    onMigration: guarded(logger, 'onMigration', opts.onMigration, undefined),
    onSplice: guarded(logger, 'onSplice', opts.onSplice, undefined),
    onMigrationCancelled: guarded(
      logger,
      'onMigrationCancelled',
      opts.onMigrationCancelled,
      undefined,
    ),
    onFlowClosed: guarded(logger, 'onFlowClosed', opts.onFlowClosed, undefined),
    kernelPending: opts.kernelPending ?? kernelPendingFionread,
    onDelivery:
      opts.onDelivery === undefined
        ? undefined
        : guarded(logger, 'onDelivery', opts.onDelivery, undefined),
  };
}

function kernelPendingFionread(socket: Socket): number {
  try {
    const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (fd === undefined || fd < 0) return Number.POSITIVE_INFINITY;
    return loadNative().pendingInput(fd);
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/** A caller's callback that throws is logged, not allowed to take a flow (or us) down. */
function guarded<A extends unknown[], R, F>(
  logger: Logger,
  name: string,
  fn: ((...args: A) => R) | undefined,
  fallback: F,
): (...args: A) => R | F {
  return (...args) => {
    try {
      return fn === undefined ? fallback : fn(...args);
    } catch (err) {
      logger.error({ err: String(err) }, `${name} threw`);
      return fallback;
    }
  };
}
