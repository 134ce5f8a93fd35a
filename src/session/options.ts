import type { Socket } from 'node:net';
import { RoamError } from '../errors.js';
import { INITIAL_WINDOW } from '../wire/index.js';

/** Where a flowpath connects: host and port, and optionally the local address to bind (a path). */
export interface Endpoint {
  host: string;
  port: number;
  localAddress?: string;
}

/** Opens the TCP connection of a flowpath; injectable so tests can use emulated links. */
export type SocketFactory = (to: Endpoint) => Socket;

export interface SessionOptions {
  /** Output buffer: unacknowledged bytes kept for retransmission; a full buffer blocks write(). */
  outputBufferBytes: number;
  /** Input buffer: bytes received but not yet read by the application, plus reordering. */
  inputBufferBytes: number;
  /** Largest DATA payload put in one frame. */
  maxFrameBytes: number;
  /** Keepalive probe interval on an idle or busy flowpath. */
  keepaliveIntervalMs: number;
  /** A flowpath with no frame at all for this long is dead (a stall gives no TCP error). */
  deadAfterMs: number;
  /** Client: how long to wait between attempts to reach the server again (ρ in the paper). */
  retryIntervalMs: number;
  /** Client: how long one reconnect attempt (TCP connect plus handshake) may take. */
  connectTimeoutMs: number;
  /** How long a session without any working flowpath keeps its state (the paper: one day). */
  detachTimeoutMs: number;
  /** Delay before a lone acknowledgment is sent when no data goes back to carry it. */
  ackDelayMs: number;
}

export const defaultSessionOptions: Readonly<SessionOptions> = {
  outputBufferBytes: 4 * 1024 * 1024,
  inputBufferBytes: 4 * 1024 * 1024,
  maxFrameBytes: 256 * 1024,
  keepaliveIntervalMs: 1000,
  deadAfterMs: 3000,
  retryIntervalMs: 1000,
  connectTimeoutMs: 5000,
  detachTimeoutMs: 24 * 60 * 60 * 1000,
  ackDelayMs: 20,
};

const LIMITS: Record<keyof SessionOptions, [number, number]> = {
  outputBufferBytes: [64 * 1024, 1024 * 1024 * 1024],
  // Never below the protocol's initial window: a client's early data must always fit.
  inputBufferBytes: [INITIAL_WINDOW, 1024 * 1024 * 1024],
  maxFrameBytes: [1024, 1024 * 1024],
  keepaliveIntervalMs: [10, 3_600_000],
  deadAfterMs: [20, 86_400_000],
  retryIntervalMs: [1, 3_600_000],
  connectTimeoutMs: [10, 3_600_000],
  detachTimeoutMs: [100, 30 * 86_400_000],
  ackDelayMs: [0, 10_000],
};

/** Fills defaults and checks every option; an out-of-range value is a clear ROAM_BAD_INPUT. */
export function resolveSessionOptions(given: Partial<SessionOptions> = {}): SessionOptions {
  const out = { ...defaultSessionOptions };
  for (const [key, value] of Object.entries(given) as [keyof SessionOptions, unknown][]) {
    if (!(key in LIMITS)) continue;
    if (value === undefined) continue;
    const [min, max] = LIMITS[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
      throw new RoamError(
        'ROAM_BAD_INPUT',
        `${key} must be a number within ${min}..${max}, got ${String(value)}`,
      );
    }
    out[key] = value;
  }
  if (out.deadAfterMs <= out.keepaliveIntervalMs) {
    throw new RoamError(
      'ROAM_BAD_INPUT',
      `deadAfterMs (${out.deadAfterMs}) must exceed keepaliveIntervalMs (${out.keepaliveIntervalMs})`,
    );
  }
  return out;
}
