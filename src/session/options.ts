import type { Socket } from 'node:net';
import { isIP } from 'node:net';
import { z } from 'zod';
import { RoamError } from '../errors.js';
import { oneLine } from '../input/one-line.js';
import { type SchedulerName, SCHEDULERS } from '../multipath/scheduler.js';
import { INITIAL_WINDOW } from '../wire/index.js';
import { admissionOptionsSchema } from './admission/options.js';

/**
 * The one schema of every option a session, a client (`connect`) and a server
 * (`createServer`, `listen`) take: used where they are given, so what is accepted is what is
 * used. Unknown keys are errors with the nearest valid name; every error is one line,
 * ROAM_BAD_INPUT, naming the field, the rule and what was given.
 */

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

/** An integer within bounds; the rule goes into the one-line error. */
export function integer(min: number, max: number, unit?: string) {
  const rule = { error: `must be an integer ${min}..${max}${unit ? ` (${unit})` : ''}` };
  return z.number(rule).int(rule).gte(min, rule).lte(max, rule);
}

/** A TCP port as net takes it: a number or a string of digits ("7000"). */
export function port(min: number) {
  const rule = { error: `must be a port ${min}..65535 (a number or a string of digits)` };
  return z
    .union(
      [
        z.number(rule),
        z
          .string(rule)
          .regex(/^\d{1,5}$/, rule)
          .transform(Number),
      ],
      rule,
    )
    .pipe(z.number(rule).int(rule).gte(min, rule).lte(65535, rule));
}

const ipAddress = z.string({ error: 'must be a literal IP address' }).refine((a) => isIP(a) !== 0, {
  error: 'must be a literal IP address',
});

const day = 86_400_000;
export const sessionOptionShape = {
  outputBufferBytes: integer(64 * 1024, 1024 * 1024 * 1024, 'bytes').optional(),
  // Never below the protocol's initial window: a client's early data must always fit.
  inputBufferBytes: integer(INITIAL_WINDOW, 1024 * 1024 * 1024, 'bytes').optional(),
  maxFrameBytes: integer(1024, 1024 * 1024, 'bytes').optional(),
  keepaliveIntervalMs: integer(10, 3_600_000, 'ms').optional(),
  deadAfterMs: integer(20, day, 'ms').optional(),
  retryIntervalMs: integer(1, 3_600_000, 'ms').optional(),
  connectTimeoutMs: integer(10, 3_600_000, 'ms').optional(),
  detachTimeoutMs: integer(100, 30 * day, 'ms').optional(),
  ackDelayMs: integer(0, 10_000, 'ms').optional(),
  /** As net's allowHalfOpen, but true by default (see docs/session.md, "Differences from net"). */
  allowHalfOpen: z.boolean({ error: 'must be true or false' }).optional(),
};

const scheduler = z.enum(SCHEDULERS as [SchedulerName, ...SchedulerName[]], {
  error: `must be one of ${SCHEDULERS.join(', ')}`,
});
const numberMap = z.record(z.string(), z.number({ error: 'must be a number' }));
const multipath = z.strictObject({
  bestPath: z
    .strictObject({
      hysteresis: z.number({ error: 'must be a number 0..1' }).gte(0).lte(1).optional(),
      marginMs: integer(0, 60_000, 'ms').optional(),
      minDwellMs: integer(0, 3_600_000, 'ms').optional(),
    })
    .optional(),
  policy: z
    .strictObject({
      prefer: z.array(z.string({ error: 'must be a list of addresses' })).optional(),
      cost: numberMap.optional(),
      byteCap: numberMap.optional(),
      demandMs: integer(0, 3_600_000, 'ms').optional(),
    })
    .optional(),
  statsIntervalMs: integer(10, 3_600_000, 'ms').optional(),
});
const fn = z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', {
  error: 'must be a function',
});
const object = z.custom<object>((v) => typeof v === 'object' && v !== null, {
  error: 'must be an object',
});
const endpoint = z.strictObject({ host: ipAddress, port: port(1) });

export const connectOptionsSchema = z.strictObject({
  ...sessionOptionShape,
  host: z.string({ error: 'must be a host name or IP address' }).min(1).optional(),
  port: port(1).optional(),
  localAddress: ipAddress.optional(),
  localAddresses: z
    .array(ipAddress, { error: 'must be a list of literal IP addresses' })
    .min(1, { error: 'must be a non-empty list of literal IP addresses' })
    .optional(),
  scheduler: scheduler.optional(),
  maxFlowpaths: integer(1, 1024).optional(),
  multipath: multipath.optional(),
  resolve: fn.optional(),
  socketFactory: fn.optional(),
  control: z.boolean({ error: 'must be true or false' }).optional(),
  tls: z
    .strictObject({
      ca: z.unknown().optional(),
      servername: z.string({ error: 'must be a server name' }).optional(),
      pinnedKey: z.string({ error: 'must be a base64 SHA-256' }).optional(),
    })
    .optional(),
  name: z.string({ error: 'must be a roam name' }).optional(),
  names: z
    .union([z.string(), object], { error: 'must be a NamesClient, a URL or options' })
    .optional(),
  watchName: z.boolean({ error: 'must be true or false' }).optional(),
});

export const serverOptionsSchema = z.strictObject({
  ...sessionOptionShape,
  maxSessions: integer(1, 10_000_000).optional(),
  maxDetachedBytes: integer(0, 1024 ** 4, 'bytes').optional(),
  handshakeTimeoutMs: integer(10, 3_600_000, 'ms').optional(),
  reconnectTimeoutMs: integer(1, 60_000, 'ms').optional(),
  reconnectTries: integer(1, 1000).optional(),
  tls: z
    .strictObject({
      key: z.unknown().optional(),
      cert: z.unknown().optional(),
      ca: z.unknown().optional(),
      passphrase: z.string().optional(),
    })
    .optional(),
  advertise: z
    .array(endpoint, { error: 'must be a list of { host, port }' })
    .max(16, { error: 'must list at most 16 addresses' })
    .optional(),
  maxFlowpaths: integer(1, 1024).optional(),
  scheduler: scheduler.optional(),
  multipath: multipath.optional(),
  admission: admissionOptionsSchema.optional(),
});

export const listenOptionsSchema = z.strictObject({
  host: z.string({ error: 'must be an address to listen at' }).min(1).optional(),
  port: port(0).optional(),
});

/**
 * Parses options against their schema: the parsed value (string ports as numbers) or a
 * one-line ROAM_BAD_INPUT that starts with the call (`connect(): …`).
 */
export function parseOptions<S extends z.ZodType>(
  schema: S,
  given: unknown,
  call: string,
): z.output<S> {
  if (given !== undefined && (given === null || typeof given !== 'object' || Array.isArray(given)))
    throw new RoamError(
      'ROAM_BAD_INPUT',
      `${call}: options must be an object, got ${typeof given}`,
    );
  const result = schema.safeParse(given ?? {});
  if (!result.success)
    throw new RoamError('ROAM_BAD_INPUT', `${call}: ${oneLine(result.error, given, schema)}`);
  return result.data;
}

/** Fills defaults for the session options among `given` (already parsed) and checks them together. */
export function resolveSessionOptions(given: Partial<SessionOptions> = {}): SessionOptions {
  const parsed = parseOptions(z.object(sessionOptionShape), given, 'session options');
  const out = { ...defaultSessionOptions };
  for (const key of Object.keys(defaultSessionOptions) as (keyof SessionOptions)[]) {
    const value = parsed[key];
    if (value !== undefined) out[key] = value;
  }
  if (out.deadAfterMs <= out.keepaliveIntervalMs) {
    throw new RoamError(
      'ROAM_BAD_INPUT',
      `deadAfterMs must exceed keepaliveIntervalMs (${out.keepaliveIntervalMs}), got ${out.deadAfterMs}`,
    );
  }
  return out;
}
