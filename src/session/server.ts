import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer as netCreateServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as tlsCreateServer } from 'node:tls';
import { RoamError } from '../errors.js';
import { rootLogger } from '../log/logger.js';
import { isIP } from 'node:net';
import { ErrorCode, MAX_ADDRESSES } from '../wire/index.js';
import { type ReconnectResult, ServerControl } from './control-server.js';
import { Flowpath } from './flowpath.js';
import { firstFrame, type HelloFrame } from './handshake.js';
import { acceptJoinHello, acceptNewHello } from './handshake-messages.js';
import type { SchedulerName } from '../multipath/scheduler.js';
import {
  type Endpoint,
  listenOptionsSchema,
  parseOptions,
  resolveSessionOptions,
  serverOptionsSchema,
  type SessionOptions,
} from './options.js';
import { ReplayWindow } from './replay-window.js';
import { newKeyShare, nonce } from './secret.js';
import { type MultipathSessionOptions, Session } from './session.js';
import type { ServerTlsOptions } from './tls.js';
import { type AdmissionOptions, type AdmissionReport, AdmissionGate } from './admission/index.js';

export interface ServerOptions extends Partial<SessionOptions> {
  /** As net's; true by default (docs/session.md, differences from net). */
  allowHalfOpen?: boolean;
  /** Most sessions kept at once (attached or detached); new ones are refused beyond it. */
  maxSessions?: number;
  /** Memory bound on detached sessions' buffers; the oldest detached expire beyond it. */
  maxDetachedBytes?: number;
  /** A connection that has not completed its handshake by then is closed. */
  handshakeTimeoutMs?: number;
  /** RECONNECT: fixed retransmission timeout and number of tries (stop-and-wait). */
  reconnectTimeoutMs?: number;
  reconnectTries?: number;
  /** TLS 1.3 flowpaths: the server's key and certificate (PEM). */
  tls?: ServerTlsOptions;
  /**
   * Further addresses where clients reach this server (another interface, another port):
   * sent to every client after the handshake, which then opens a flowpath to each.
   */
  advertise?: Endpoint[];
  /** Most flowpaths one session may have at once; further ones are refused (LIMIT). Default 16. */
  maxFlowpaths?: number;
  /** How the server spreads what it sends over a session's flowpaths. Default 'aggregate'. */
  scheduler?: SchedulerName;
  /** Other multipath settings of the server's sessions. */
  multipath?: Omit<MultipathSessionOptions, 'scheduler'>;
  /** Admission control (cookies under load, eviction order, per-source limits): docs/session.md. */
  admission?: AdmissionOptions;
}

interface SessionRecord {
  session: Session;
  /** Attach counters accepted: each one once (replay defence; see ReplayWindow). */
  counters: ReplayWindow;
}

const EXPIRED_MEMORY = 4096;

/**
 * The server end: accepts flowpaths, runs the handshake (a new session, or an attach that
 * resumes one or adds a path), keeps the session table within its bounds, and when its own
 * address changes (`move`), listens at the new one and sends each client a RECONNECT.
 */
interface ServerEvents {
  session: [Session];
  error: [Error];
  listening: [];
  admission: [AdmissionReport];
}

export class RoamServer extends EventEmitter<ServerEvents> {
  readonly options: SessionOptions;
  private readonly limits: Required<
    Pick<ServerOptions, 'maxSessions' | 'maxDetachedBytes' | 'handshakeTimeoutMs'>
  >;
  private readonly sessions = new Map<string, SessionRecord>();
  private readonly expired = new Set<string>();
  /**
   * Sessions the client has not confirmed yet (see Session.peerConfirmed), by the client's
   * half of the connection id: a retry of the same HELLO new replaces them.
   */
  private readonly unconfirmed = new Map<string, Session>();
  private readonly handshaking = new Set<Socket>();
  private listener: NetServer | undefined;
  private readonly control: ServerControl;
  private endpoint: { host: string; port: number } | undefined;
  private readonly tls: ServerTlsOptions | undefined;
  private advertise: { host: string; port: number }[];
  private readonly maxFlowpaths: number;
  private readonly multipath: MultipathSessionOptions;
  private readonly gate: AdmissionGate;

  private readonly allowHalfOpen: boolean | undefined;

  constructor(given: ServerOptions = {}, onSession?: (session: Session) => void) {
    super();
    const options = parseOptions(serverOptionsSchema, given, 'createServer()');
    this.options = resolveSessionOptions(options);
    this.allowHalfOpen = options.allowHalfOpen;
    this.limits = {
      maxSessions: options.maxSessions ?? 10_000,
      maxDetachedBytes: options.maxDetachedBytes ?? 256 * 1024 * 1024,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
    };
    this.tls = given.tls; // the schema checked its keys; node:tls checks the PEM
    this.advertise = checkAdvertise(options.advertise ?? []);
    this.maxFlowpaths = options.maxFlowpaths ?? 16;
    this.multipath = { ...options.multipath, scheduler: options.scheduler ?? 'aggregate' };
    this.control = new ServerControl(
      options.reconnectTimeoutMs ?? 200,
      options.reconnectTries ?? 10,
    );
    this.gate = new AdmissionGate(options.admission, this.limits.maxSessions);
    this.gate.on('report', (r) => this.emit('admission', r));
    if (onSession) this.on('session', onSession);
  }

  /**
   * A listener that throws (in 'session', say) must not unwind into the handshake's promise
   * chain, where it was once logged as a failed handshake: as with net, it reaches the
   * process as an uncaught exception.
   */
  override emit<K extends keyof ServerEvents>(event: K, ...args: ServerEvents[K]): boolean {
    try {
      return (super.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args);
    } catch (err) {
      process.nextTick(() => {
        throw err;
      });
      return true;
    }
  }

  /** What admission control did so far (counters), and the table's make-up now. */
  get admissionCounters() {
    return this.gate.snapshot(this.handshaking.size);
  }

  /** Listens for flowpaths; resolves once listening. */
  async listen(
    given: { host?: string; port?: number | string } = {},
  ): Promise<{ host: string; port: number }> {
    const at = parseOptions(listenOptionsSchema, given, 'listen()');
    const host = at.host ?? '127.0.0.1';
    const listener = this.tls
      ? tlsCreateServer({ ...this.tls, minVersion: 'TLSv1.3' }, (socket) => this.accept(socket))
      : netCreateServer((socket) => this.accept(socket));
    // A client that fails the TLS handshake only costs its own connection.
    listener.on('tlsClientError', (err: Error) =>
      rootLogger().debug({ err: err.message }, 'TLS handshake failed'),
    );
    await new Promise<void>((resolve, reject) => {
      listener.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          new RoamError(
            'ROAM_LISTEN_FAILED',
            `cannot listen at ${host}:${at.port ?? 0}: ${err.code ?? err.message}`,
            { cause: err },
          ),
        ),
      );
      listener.listen(at.port ?? 0, host, () => resolve());
    });
    listener.on('error', (err) => this.emit('error', err));
    const address = listener.address();
    const port = typeof address === 'object' && address ? address.port : (at.port ?? 0);
    const old = this.listener;
    this.listener = listener;
    this.endpoint = { host, port };
    await this.control.bind(host);
    old?.close();
    this.emit('listening');
    return this.endpoint;
  }

  /**
   * Changes the addresses advertised to clients (a new interface, a lost one): sent to every
   * live session now and to every new one.
   */
  setAdvertise(list: Endpoint[]): void {
    this.advertise = checkAdvertise(list);
    for (const { session } of this.sessions.values()) session.advertise(this.advertise);
  }

  address(): { host: string; port: number } | undefined {
    return this.endpoint;
  }

  /** The UDP control socket's address (published in the server's name record). */
  controlAddress(): { host: string; port: number } | undefined {
    return this.control.address();
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /**
   * Server mobility: listen at the new address, stop listening at the old one, and tell
   * every client with a control socket to reconnect there.
   */
  async move(to: { host: string; port?: number }): Promise<ReconnectResult[]> {
    const endpoint = await this.listen({ host: to.host, port: to.port ?? this.endpoint?.port });
    const results = await Promise.all(
      [...this.sessions.values()].map((r) => this.control.reconnect(r.session, endpoint)),
    );
    rootLogger().info(
      { to: endpoint, sessions: results.length, acked: results.filter((r) => r.acked).length },
      'server moved',
    );
    return results;
  }

  /**
   * Stops accepting new flowpaths; live sessions go on. Unlike net.Server.close this does not
   * wait for connections to end: sessions outlive their connections anyway.
   */
  async close(): Promise<void> {
    this.listener?.close();
    this.listener = undefined;
    this.control.close();
    for (const socket of this.handshaking) socket.destroy();
  }

  /** Ends every session at once (tests and shutdown). */
  destroyAll(): void {
    for (const { session } of this.sessions.values()) session.destroy();
  }

  private accept(socket: Socket): void {
    const source = this.gate.accept(socket, this.handshaking); // admission hook
    if (source === undefined) return;
    this.handshaking.add(socket);
    const path = new Flowpath(socket, this.options);
    firstFrame(path, this.limits.handshakeTimeoutMs)
      .then(async (frame) => {
        if (frame.type !== 'hello') {
          path.fail('expected HELLO', {
            code: ErrorCode.PROTOCOL,
            reason: 'the first frame must be HELLO',
          });
          return;
        }
        if (frame.mode !== 'new') return this.attach(path, frame);
        // Admission hook: a session, a COOKIE to echo first, or a refusal.
        const size = this.sessions.size;
        const hello = await this.gate.admitNew(
          path,
          frame,
          source,
          size,
          this.limits.handshakeTimeoutMs,
        );
        if (hello) this.newSession(path, hello, source);
      })
      .catch((err: Error) => rootLogger().debug({ err: err.message }, 'handshake failed'))
      .finally(() => {
        this.handshaking.delete(socket);
        this.gate.handshakeDone(source);
      });
  }

  private newSession(path: Flowpath, hello: HelloFrame, source: string): void {
    // Cheap refusals first: a malformed HELLO (refused below) supersedes nothing, and a
    // server at its limit does no key agreement.
    if (hello.received === 0) {
      this.supersede(hello.connId.subarray(0, 8).toString('hex'));
      if (this.sessions.size - this.gate.leaving >= this.limits.maxSessions) {
        path.fail('session limit', { code: ErrorCode.LIMIT, reason: 'too many sessions' });
        return;
      }
    }
    const accepted = acceptNewHello(hello, {
      share: newKeyShare(),
      nonce: nonce(),
      serverHalf: randomBytes(8),
      recvWindow: this.options.inputBufferBytes,
    });
    if (!accepted.ok) {
      path.fail(accepted.why, { code: accepted.code, reason: accepted.reason });
      return;
    }
    const { connId, secret, welcome } = accepted;
    const session = new Session({
      role: 'server',
      options: this.options,
      multipath: { ...this.multipath },
      allowHalfOpen: this.allowHalfOpen,
    });
    session.establish(connId, secret);
    session.peerControl = hello.controlAddr;
    // The client will add flowpaths: what they can carry of the first answer waits for them.
    session.expectMultipath = hello.multipath === true;
    path.pathId = hello.pathId;
    // WELCOME and ADDRESSES leave in one segment, so the client knows the server's other
    // addresses when it pairs its local addresses with them (right after WELCOME).
    path.socket.cork();
    try {
      path.send(welcome);
      const record = { session, counters: new ReplayWindow() };
      this.sessions.set(session.id, record);
      const half = connId.subarray(0, 8).toString('hex');
      this.unconfirmed.set(half, session);
      this.control.track(session);
      this.gate.track(session, source); // admission hook: its standing, evictions
      session.on('migrating', () => this.enforceDetachedBound());
      session.onDestroyed = (err) => {
        this.sessions.delete(session.id);
        if (this.unconfirmed.get(half) === session) this.unconfirmed.delete(half);
        if (err && (err as RoamError).code === 'ROAM_SESSION_EXPIRED') this.remember(session.id);
      };
      session.adoptPath(path, hello.received, hello.recvWindow);
      this.sendAddresses(path);
    } finally {
      path.socket.uncork();
    }
    this.emit('session', session);
  }

  /**
   * A HELLO new whose client half names a session the client never confirmed: the client
   * lost its first flowpath before WELCOME and started over, sending its early data again on
   * the new session. The old one ends (ROAM_SESSION_RESET at the application, like a TCP
   * reset) so that those bytes are not taken as a second copy of the stream.
   */
  private supersede(half: string): void {
    const old = this.unconfirmed.get(half);
    if (!old) return;
    this.unconfirmed.delete(half);
    if (old.peerConfirmed) return;
    old.destroy(
      new RoamError(
        'ROAM_SESSION_RESET',
        `session ${old.id} was started over by its client before it confirmed WELCOME; its bytes go again on the new session`,
      ),
    );
  }

  private sendAddresses(path: Flowpath): void {
    if (this.advertise.length > 0) path.send({ type: 'addresses', addresses: this.advertise });
  }

  private attach(path: Flowpath, hello: HelloFrame): void {
    const id = hello.connId.toString('hex');
    // Early data belongs to HELLO mode new only. A client that attaches or adds a flowpath
    // waits for WELCOME (the server's proof) before it sends anything on it; frames that came
    // with its HELLO break the protocol. (Those that arrive after we answered cannot be told
    // from frames sent after WELCOME; the proof was checked by then.)
    if (path.heldFrames > 0) {
      path.fail(`frames after HELLO ${hello.mode} before WELCOME`, {
        code: ErrorCode.PROTOCOL,
        reason: `no frame may follow HELLO ${hello.mode} before WELCOME (early data is for new sessions only)`,
      });
      return;
    }
    const record = this.sessions.get(id);
    if (!record) {
      const expired = this.expired.has(id);
      path.fail(expired ? 'expired session' : 'unknown session', {
        code: expired ? ErrorCode.EXPIRED : ErrorCode.UNKNOWN_SESSION,
        reason: expired ? 'session expired' : 'no such session',
      });
      return;
    }
    const { session } = record;
    const accepted = acceptJoinHello(
      hello,
      {
        secret: session.secret,
        received: session.received,
        recvWindow: session.receiveWindow,
        counters: record.counters,
      },
      nonce(),
    );
    // Flowpath.fail logs each refusal (one warn line with the code and the peer's address).
    if (!accepted.ok) {
      path.fail(accepted.why, { code: accepted.code, reason: accepted.reason });
      return;
    }
    // Its proof shows the client has the secret, hence our WELCOME.
    session.peerConfirmed = true;
    const live = session.paths.filter((p) => p.state === 'open' && p.pathId !== hello.pathId);
    if (hello.mode === 'add' && live.length >= this.maxFlowpaths) {
      path.fail(`flowpath limit of session ${id}`, {
        code: ErrorCode.LIMIT,
        reason: `at most ${this.maxFlowpaths} flowpaths per session`,
      });
      return;
    }
    path.pathId = hello.pathId;
    path.send(accepted.welcome);
    if (hello.controlAddr) session.peerControl = hello.controlAddr;
    // A resume (mode attach): the client has no other flowpath, so those we hold are stale.
    if (hello.mode === 'attach') session.dropPaths('the client resumed on a new flowpath');
    session.adoptPath(path, hello.received, hello.recvWindow);
    this.sendAddresses(path);
  }

  private remember(id: string): void {
    this.expired.add(id);
    if (this.expired.size > EXPIRED_MEMORY) {
      const oldest = this.expired.values().next().value;
      if (oldest !== undefined) this.expired.delete(oldest);
    }
  }

  /** Keeps detached sessions' memory within its bound by expiring the longest-detached. */
  private enforceDetachedBound(): void {
    const detached = [...this.sessions.values()]
      .map((r) => r.session)
      .filter((s) => s.state === 'detached')
      .sort((a, b) => (a.detachedSince ?? 0) - (b.detachedSince ?? 0));
    let total = detached.reduce((sum, s) => sum + s.bufferedBytes, 0);
    for (const s of detached) {
      if (total <= this.limits.maxDetachedBytes) break;
      total -= s.bufferedBytes;
      s.destroy(
        new RoamError(
          'ROAM_SESSION_EXPIRED',
          `session ${s.id} expired early: detached sessions exceed ${this.limits.maxDetachedBytes} bytes`,
        ),
      );
    }
  }
}

function checkAdvertise(list: Endpoint[]): { host: string; port: number }[] {
  if (!Array.isArray(list) || list.length > MAX_ADDRESSES)
    throw new RoamError('ROAM_BAD_INPUT', `advertise takes at most ${MAX_ADDRESSES} addresses`);
  return list.map((e) => {
    if (
      typeof e?.host !== 'string' ||
      isIP(e.host) === 0 ||
      !Number.isInteger(e.port) ||
      e.port < 1 ||
      e.port > 65535
    )
      throw new RoamError(
        'ROAM_BAD_INPUT',
        `advertise takes literal IP addresses with ports 1..65535, got ${JSON.stringify(e)}`,
      );
    return { host: e.host, port: e.port };
  });
}

export function createServer(
  options: ServerOptions = {},
  onSession?: (session: Session) => void,
): RoamServer {
  return new RoamServer(options, onSession);
}
