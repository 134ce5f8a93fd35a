import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import type { TestContext } from 'node:test';
import { rootLogger } from '../../src/log/logger.js';
import {
  connect,
  type ConnectOptions,
  createServer,
  type RoamServer,
  type ServerOptions,
  type Session,
} from '../../src/session/index.js';
import { newKeyShare } from '../../src/session/secret.js';
import {
  encodeFrame,
  type ErrorFrame,
  type Frame,
  FrameDecoder,
  type HelloFrame,
} from '../../src/wire/index.js';
import { readAll } from './session-support.js';

/**
 * The two sides of a hostile-input test: an attacker on raw TCP sockets that writes bytes
 * of its choice and records every frame the server answers with, and an honest roam session
 * moving data through the same server at the same time, which must not notice.
 */

// ---- the attacker ------------------------------------------------------------------------

/** What a raw connection saw: the frames the server sent, and whether it closed. */
export interface Observed {
  frames: Frame[];
  /** The ERROR frames among them. */
  errors: ErrorFrame[];
  /** The server closed the connection within the deadline. */
  closed: boolean;
  /** Our local port: the server logs it as the remote port. */
  localPort: number;
  /** A socket error seen on the way (ECONNRESET after the server's close is fine). */
  socketError: string | undefined;
  /** The server sent something that is not a frame: always a failure. */
  decodeError: string | undefined;
  /** From the connection to the server's close (or the deadline), ms. */
  ms: number;
}

/** Destroys every socket it was given when the test ends, also when it fails. */
export class SocketTracker {
  private readonly sockets = new Set<Socket>();

  constructor(t: TestContext) {
    t.after(() => {
      for (const s of this.sockets) s.destroy();
      this.sockets.clear();
    });
  }

  add(socket: Socket): Socket {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    return socket;
  }
}

export async function rawConnect(tracker: SocketTracker, port: number): Promise<Socket> {
  const socket = tracker.add(netConnect({ host: '127.0.0.1', port }));
  await once(socket, 'connect');
  return socket;
}

export interface AttackOptions {
  /** How long to wait for the server to close the connection. */
  deadlineMs?: number;
  /** Stop (and close our end) as soon as the server sends WELCOME: a session was opened. */
  stopAtWelcome?: boolean;
}

/**
 * Opens a connection, writes `input` (nothing if undefined), then reads until the server
 * closes the connection or the deadline passes, and closes our end.
 */
export async function attack(
  tracker: SocketTracker,
  port: number,
  input: Buffer | undefined,
  opts: AttackOptions = {},
): Promise<Observed> {
  const socket = await rawConnect(tracker, port);
  const t0 = performance.now();
  const seen: Observed = {
    frames: [],
    errors: [],
    closed: false,
    localPort: socket.localPort ?? 0,
    socketError: undefined,
    decodeError: undefined,
    ms: 0,
  };
  const decoder = new FrameDecoder();
  const closed = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), opts.deadlineMs ?? 5000);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
    socket.on('data', (chunk: Buffer) => {
      if (seen.decodeError !== undefined) return;
      try {
        for (const frame of decoder.emitFrames(chunk)) {
          seen.frames.push(frame);
          if (frame.type === 'error') seen.errors.push(frame);
          if (frame.type === 'welcome' && opts.stopAtWelcome) socket.destroy();
        }
      } catch (err) {
        seen.decodeError = (err as Error).message;
        socket.destroy();
      }
    });
  });
  socket.on('error', (err: NodeJS.ErrnoException) => (seen.socketError = err.code));
  if (input !== undefined && input.length > 0) socket.write(input);
  seen.closed = await closed;
  seen.ms = performance.now() - t0;
  socket.destroy();
  return seen;
}

/** Asserts the one outcome every refused connection must have: ERROR `code`, then close. */
export function assertRefused(seen: Observed, code: number, what: string): void {
  assert.equal(seen.decodeError, undefined, `${what}: the server sent something not a frame`);
  assert.ok(seen.closed, `${what}: the server did not close the connection`);
  assert.deepEqual(
    seen.errors.map((e) => e.code),
    [code],
    `${what}: expected exactly one ERROR ${code}, got ${JSON.stringify(seen.errors)}`,
  );
  const last = seen.frames.at(-1);
  assert.equal(last?.type, 'error', `${what}: the ERROR is the last frame`);
  assert.ok(
    seen.frames.every((f) => f.type === 'ping' || f.type === 'error'),
    `${what}: nothing but pings before the ERROR, got ${seen.frames.map((f) => f.type).join()}`,
  );
}

export function helloBytes(fields: Partial<HelloFrame> = {}): Buffer {
  const frame: HelloFrame = {
    type: 'hello',
    mode: 'new',
    pathId: 0,
    connId: Buffer.concat([randomBytes(8), Buffer.alloc(8)]),
    nonce: randomBytes(16),
    keyShare: fields.mode === 'attach' ? Buffer.alloc(32) : newKeyShare().publicKey,
    counter: 0,
    received: 0,
    recvWindow: 4 * 1024 * 1024,
    controlAddr: null,
    proof: Buffer.alloc(32),
    ...fields,
  };
  return Buffer.concat(encodeFrame(frame));
}

/** An attach HELLO for `connId` with a proof that is not the session's (random). */
export function forgedAttach(connId: Buffer, counter = 1): Buffer {
  return helloBytes({ mode: 'attach', connId, counter, proof: randomBytes(32) });
}

export function frameBytes(frame: Frame): Buffer {
  return Buffer.concat(encodeFrame(frame));
}

// ---- log lines ---------------------------------------------------------------------------

export interface LogLine {
  obj: Record<string, unknown>;
  msg: string;
}

/**
 * Records every warn line of the root logger while a test runs (and prints none of them):
 * each refused connection must leave one, so an operator can see the attack.
 */
export function captureWarnings(t: TestContext): LogLine[] {
  const lines: LogLine[] = [];
  const logger = rootLogger();
  const level = logger.level;
  logger.level = 'silent';
  const silentWarn = logger.warn;
  const capture = (obj: unknown, msg?: string) => {
    if (typeof obj === 'object' && obj !== null)
      lines.push({ obj: obj as Record<string, unknown>, msg: msg ?? '' });
    else lines.push({ obj: {}, msg: String(obj) });
  };
  logger.warn = capture as typeof logger.warn;
  t.after(() => {
    if (logger.warn === (capture as typeof logger.warn)) logger.warn = silentWarn;
    logger.level = level;
  });
  return lines;
}

/** The warn lines about the connection whose local port was `port`. */
export function linesFor(lines: LogLine[], port: number): LogLine[] {
  return lines.filter((l) => l.obj.remotePort === port);
}

export function assertLogged(lines: LogLine[], seen: Observed, code: number, what: string): void {
  const mine = linesFor(lines, seen.localPort);
  assert.ok(
    mine.some((l) => l.obj.errorCode === code),
    `${what}: no warn line with errorCode ${code} for port ${seen.localPort}: ${JSON.stringify(mine)}`,
  );
}

// ---- the honest session ------------------------------------------------------------------

export interface Honest {
  server: RoamServer;
  port: number;
  client: Session;
  /** The server's end of the honest session. */
  serverSide: Session;
  /** Sessions the server accepted after the honest one: the attacker's. */
  others: Session[];
  /** 'path-down' reasons on either end of the honest session. */
  pathDowns: string[];
  tracker: SocketTracker;
}

const CHUNK = 64 * 1024;

/**
 * A server on loopback and one honest session to it, both torn down when the test ends.
 * Sessions after the first are the attacker's: they get an 'error' listener and are not read.
 */
export async function startHonest(
  t: TestContext,
  serverOptions: ServerOptions = {},
  clientOptions: Partial<ConnectOptions> = {},
): Promise<Honest> {
  const tracker = new SocketTracker(t);
  const others: Session[] = [];
  let first: ((s: Session) => void) | undefined;
  const serverSideReady = new Promise<Session>((resolve) => (first = resolve));
  const server = createServer(serverOptions, (s) => {
    if (first) {
      first(s);
      first = undefined;
      return;
    }
    s.on('error', () => undefined);
    others.push(s);
  });
  t.after(async () => {
    server.destroyAll();
    await server.close();
  });
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  const client = connect({ host: '127.0.0.1', port, ...clientOptions });
  t.after(() => client.destroy());
  await Promise.race([
    once(client, 'connect'),
    once(client, 'error').then(([err]) => Promise.reject(err as Error)),
  ]);
  const serverSide = await serverSideReady;
  const pathDowns: string[] = [];
  client.on('path-down', (_info, reason) => pathDowns.push(`client: ${reason}`));
  serverSide.on('path-down', (_info, reason) => pathDowns.push(`server: ${reason}`));
  return { server, port, client, serverSide, others, pathDowns, tracker };
}

/**
 * Writes random bytes with backpressure until `stop` is set and at least `minBytes` are
 * written, then ends the stream; resolves with the length and SHA-256 written.
 */
async function writeUntil(
  stream: Session,
  minBytes: number,
  stopped: () => boolean,
): Promise<{ length: number; sha256: string }> {
  const hash = createHash('sha256');
  let length = 0;
  const pool = randomBytes(1024 * 1024);
  while (length < minBytes || !stopped()) {
    // Fresh bytes at a moving offset: no two chunks alike, cheap to make.
    const chunk = Buffer.from(
      pool.subarray((length * 7) % (pool.length - CHUNK)).subarray(0, CHUNK),
    );
    chunk.writeUInt32BE(length / CHUNK, 0);
    hash.update(chunk);
    length += chunk.length;
    if (!stream.write(chunk) && (await firstOf(stream, ['drain', 'close'])) === 'close')
      throw new Error('honest session closed during the transfer');
  }
  stream.end();
  return { length, sha256: hash.digest('hex') };
}

export interface TransferResult<T> {
  attack: T;
  /** Bytes moved in both directions together, per second. */
  mbPerSecond: number;
}

/**
 * Runs `attack` while the honest session transfers data both ways (at least `minBytes` each
 * way, and on until the attack is over), then checks every byte arrived intact, in order,
 * and the attack's own result. Throws the attack's error after the transfer is checked.
 */
export async function duringTransfer<T>(
  h: Honest,
  attackFn: () => Promise<T>,
  minBytes = 32 * 1024 * 1024,
): Promise<TransferResult<T>> {
  let stopped = false;
  const failed = new Promise<never>((_, reject) => {
    h.client.once('error', reject);
    h.serverSide.once('error', reject);
  });
  failed.catch(() => undefined);
  const started = performance.now();
  const up = writeUntil(h.client, minBytes, () => stopped);
  const down = writeUntil(h.serverSide, minBytes, () => stopped);
  const upRead = readAll(h.serverSide);
  const downRead = readAll(h.client);
  const outcome = attackFn().then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  const result = await outcome;
  stopped = true;
  const [upSent, downSent, upGot, downGot] = await Promise.race([
    Promise.all([up, down, upRead, downRead]),
    failed,
  ]);
  const seconds = (performance.now() - started) / 1000;
  assert.deepEqual(upGot, upSent, 'client → server bytes arrive intact');
  assert.deepEqual(downGot, downSent, 'server → client bytes arrive intact');
  if (!result.ok) throw result.error;
  return {
    attack: result.value,
    mbPerSecond: (upSent.length + downSent.length) / 1024 / 1024 / seconds,
  };
}

/**
 * Resolves with the name of the first of `events` that `emitter` emits, and removes its
 * listeners (unlike events.once, an 'error' does not reject: the caller asks for it if it
 * cares).
 */
export function firstOf<E extends string>(emitter: NodeJS.EventEmitter, events: E[]): Promise<E> {
  return new Promise((resolve) => {
    const handlers = events.map((name) => {
      const handler = () => {
        events.forEach((n, i) => emitter.off(n, handlers[i] as () => void));
        resolve(name);
      };
      emitter.on(name, handler);
      return handler;
    });
  });
}

/** Runs `fn` over `items`, at most `width` at a time. */
export async function inBatches<I, O>(
  items: I[],
  width: number,
  fn: (item: I, index: number) => Promise<O>,
): Promise<O[]> {
  const out: O[] = [];
  for (let i = 0; i < items.length; i += width) {
    const batch = items.slice(i, i + width);
    out.push(...(await Promise.all(batch.map((item, j) => fn(item, i + j)))));
  }
  return out;
}

/** Count of live TCP handles in this process (both ends of every loopback connection). */
export function tcpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
}

/**
 * Waits until the count of TCP handles is back to `expected` (sockets close a tick or two
 * after their peer sees the FIN); resolves with the last count seen within `deadlineMs`.
 */
export async function tcpHandlesSettle(expected: number, deadlineMs = 2000): Promise<number> {
  const until = performance.now() + deadlineMs;
  let n = tcpHandles();
  while (n > expected && performance.now() < until) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    n = tcpHandles();
  }
  return n;
}
