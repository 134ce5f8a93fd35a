import { randomBytes } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { RoamError } from '../errors.js';
import { rootLogger } from '../log/logger.js';
import { ErrorCode } from '../wire/index.js';
import { ClientControl } from './control-client.js';
import { NameDial } from './names/dial.js';
import { listsEndpoint } from './names/endpoints.js';
import { type ConnectTo, NameLocator, type NamesOption } from './names/locator.js';
import { Flowpath } from './flowpath.js';
import { attachProof, attachProofValid, firstFrame } from './handshake.js';
import {
  type Endpoint,
  resolveSessionOptions,
  type SessionOptions,
  type SocketFactory,
} from './options.js';
import { deriveSecret, newKeyShare, nonce } from './secret.js';
import { checkPin, type ClientTlsOptions, tlsSocketFactory } from './tls.js';
import { Session } from './session.js';

export interface ConnectOptions extends Partial<SessionOptions> {
  host?: string;
  port?: number;
  /** Bind flowpaths to this local address (a path of a multi-homed host). */
  localAddress?: string;
  /**
   * Where the server is now, asked again before every reconnect attempt: the hook for a
   * name service. Defaults to the host and port given.
   */
  resolve?: () => Endpoint | Promise<Endpoint>;
  /** Opens flowpath connections; tests pass emulated links. */
  socketFactory?: SocketFactory;
  /** Listen for the server's RECONNECT (server mobility) on a UDP control socket. Default true. */
  control?: boolean;
  /** TLS 1.3 flowpaths, verified by CA and name or by a pinned public key. */
  tls?: ClientTlsOptions;
  /**
   * Connect to a name instead of host and port: resolved through `names` (verified records
   * only), and looked up again whenever the server may have moved (docs/session.md).
   */
  name?: string;
  /** The name service: a NamesClient, or its server URL, or NamesClient options. */
  names?: NamesOption;
  /** Follow the server's name with a watch while the session lives. Default true. */
  watchName?: boolean;
}

const defaultFactory: SocketFactory = (to) =>
  netConnect({ host: to.host, port: to.port, localAddress: to.localAddress });

function connectSocket(
  factory: SocketFactory,
  to: Endpoint,
  timeoutMs: number,
  pinnedKey?: string,
  track?: (socket: Socket) => void,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = factory(to);
    track?.(socket);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new RoamError(
          'ROAM_CONNECT_TIMEOUT',
          `no TCP connection to ${to.host}:${to.port} within ${timeoutMs} ms`,
        ),
      );
    }, timeoutMs);
    socket.once(socket instanceof TLSSocket ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      try {
        if (socket instanceof TLSSocket) checkPin(socket, pinnedKey);
      } catch (err) {
        reject(err);
        return;
      }
      resolve(socket);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      reject(
        new RoamError(
          'ROAM_CONNECT_FAILED',
          `cannot reach ${to.host}:${to.port}: ${err.code ?? err.message}`,
          { cause: err },
        ),
      );
    });
  });
}

/**
 * The client end: opens the first flowpath (a new session), and whenever the session is
 * left without one, opens another and resumes (client migration). Attempts start every
 * retryIntervalMs (ρ), each to the address `resolve()` gives then, without waiting for a
 * hung attempt to time out, so recovery takes at most ρ + 2 RTT once the server is reachable.
 */
class ClientDriver {
  private counter = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Attempts in flight, with where each goes. */
  private attempts = new Map<Socket, Endpoint>();
  private pending = 0;
  private migrating = false;
  /** Where RECONNECT said the server is now; tried before anything else. */
  private override: Endpoint | undefined;
  /** The server endpoint that last worked: without a resolve() hook, where we go back to. */
  private current: Endpoint | undefined;
  /** The attempt in its HELLO/WELCOME exchange: others must not replace its path. */
  private handshaking: Socket | undefined;
  private attemptCount = 0;
  private control: ClientControl | undefined;

  constructor(
    private readonly session: Session,
    private readonly opts: SessionOptions,
    private readonly resolveTarget: () => Endpoint | Promise<Endpoint>,
    private readonly factory: SocketFactory,
    private readonly localAddress: string | undefined,
    useControl: boolean,
    private readonly pinnedKey: string | undefined,
    /** True when the application gave resolve(): it, not the last endpoint, is the authority. */
    private readonly resolveIsAuthority: boolean,
    /** Opens the first connection instead of one attempt to target() (connect by name). */
    private readonly dial?: (
      connectTo: ConnectTo,
    ) => Promise<{ socket: Socket; endpoint: Endpoint }>,
  ) {
    if (useControl) this.control = new ClientControl(session, (to) => this.serverMoved(to));
    session.on('migrating', () => this.startMigration());
    session.once('close', () => this.stop());
  }

  /**
   * The server moved (RECONNECT, or a new name record): go to its new address now (`to`, or
   * wherever resolve() says), even if the old path looks alive.
   */
  serverMoved(
    to?: { host: string; port: number },
    /** Whether an endpoint is still where the server is (default: it is `to`). */
    current: (at: Endpoint) => boolean = (at) => at.host === to?.host && at.port === to.port,
  ): void {
    if (to) this.override = { ...to, localAddress: this.localAddress };
    if (this.session.state === 'open') return this.session.dropPaths('server moved');
    // Attempts to where the server was (a black hole holds them until the connect timeout, a
    // mute listener until the handshake's): abandon them, and start one now even if they
    // filled the limit.
    for (const [socket, at] of this.attempts) {
      if (current(at)) continue;
      if (this.handshaking === socket) this.handshaking = undefined;
      socket.on('error', () => undefined); // between connect and flowpath nobody listens
      socket.destroy(new Error('the server moved'));
    }
    this.kick(true);
  }

  async open(): Promise<void> {
    const { socket, endpoint: target } = this.dial
      ? await this.dial((to, ms, signal) =>
          connectSocket(
            this.factory,
            { ...to, localAddress: to.localAddress ?? this.localAddress },
            ms,
            this.pinnedKey,
            (s) =>
              signal.addEventListener('abort', () => {
                s.on('error', () => undefined); // it may have connected: nobody listens then
                s.destroy(new Error('superseded by a newer name record'));
              }),
          ),
        )
      : await this.target().then(async (endpoint) => ({
          endpoint,
          socket: await connectSocket(
            this.factory,
            endpoint,
            this.opts.connectTimeoutMs,
            this.pinnedKey,
          ),
        }));
    const path = new Flowpath(socket, this.opts);
    const share = newKeyShare();
    const clientNonce = nonce();
    const clientHalf = randomBytes(8);
    const control = await this.control?.address(socket.localAddress);
    path.send({
      type: 'hello',
      mode: 'new',
      pathId: 0,
      connId: Buffer.concat([clientHalf, Buffer.alloc(8)]),
      nonce: clientNonce,
      keyShare: share.publicKey,
      counter: 0,
      received: 0,
      recvWindow: this.session.receiveWindow,
      controlAddr: control ?? null,
      proof: Buffer.alloc(32),
    });
    const welcome = await firstFrame(path, this.opts.connectTimeoutMs);
    if (welcome.type !== 'welcome' || !welcome.connId.subarray(0, 8).equals(clientHalf)) {
      path.fail('bad welcome', {
        code: ErrorCode.PROTOCOL,
        reason: 'expected WELCOME for our session',
      });
      throw new RoamError(
        'ROAM_HANDSHAKE_FAILED',
        'the server answered HELLO with something other than our WELCOME',
      );
    }
    let secret: Buffer;
    try {
      secret = deriveSecret(share, welcome.keyShare, welcome.connId, clientNonce, welcome.nonce);
    } catch {
      path.fail('bad key share', { code: ErrorCode.PROTOCOL, reason: 'bad key share' });
      throw new RoamError('ROAM_HANDSHAKE_FAILED', 'the server sent an unusable key share');
    }
    const fields = {
      connId: welcome.connId,
      pathId: 0,
      counter: 0,
      received: welcome.received,
      clientNonce,
      serverNonce: welcome.nonce,
    };
    if (!attachProofValid(secret, 'server', fields, welcome.proof)) {
      path.fail('bad proof', { code: ErrorCode.BAD_PROOF, reason: 'key confirmation failed' });
      throw new RoamError(
        'ROAM_HANDSHAKE_FAILED',
        'key confirmation failed: the server derived another secret',
      );
    }
    this.current = { host: target.host, port: target.port };
    this.session.establish(welcome.connId, secret);
    this.session.peerControl = welcome.controlAddr;
    path.pathId = 0;
    this.session.adoptPath(path, welcome.received, welcome.recvWindow);
  }

  private async target(): Promise<Endpoint> {
    const t =
      this.override ??
      (this.resolveIsAuthority ? undefined : this.current) ??
      (await this.resolveTarget());
    return { ...t, localAddress: t.localAddress ?? this.localAddress };
  }

  private startMigration(): void {
    if (this.migrating || this.session.destroyed) return;
    this.migrating = true;
    this.kick();
  }

  /** Starts an attempt now and schedules the next one ρ later, until one succeeds. */
  private kick(force = false): void {
    if (!this.migrating || this.session.destroyed) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.kick(), this.opts.retryIntervalMs);
    // Attempts overlap: one to an address that swallows SYNs hangs until connectTimeoutMs,
    // and must not hold back the next. Bounded: as many as fit in one connect timeout.
    const limit = Math.min(
      16,
      Math.ceil(this.opts.connectTimeoutMs / this.opts.retryIntervalMs) + 1,
    );
    if (force || this.pending < limit) void this.attempt();
  }

  private async attempt(): Promise<void> {
    let socket: Socket | undefined;
    let tracked: Socket | undefined;
    this.pending++;
    try {
      const target = await this.target();
      this.session.emit('reconnecting', {
        attempt: ++this.attemptCount,
        host: target.host,
        port: target.port,
      });
      socket = await connectSocket(
        this.factory,
        target,
        this.opts.connectTimeoutMs,
        this.pinnedKey,
        (created) => {
          tracked = created;
          this.attempts.set(created, target);
        },
      );
      // Another attempt got through first and is attaching: an attach of ours would replace
      // its path at the server. Its handshake decides; this connection is not needed.
      if (!this.migrating || this.session.destroyed || this.handshaking) {
        socket.destroy();
        return;
      }
      this.handshaking = socket;
      const path = new Flowpath(socket, this.opts);
      const clientNonce = nonce();
      const counter = ++this.counter;
      const received = this.session.received;
      const proof = attachProof(this.session.secret, 'client', {
        connId: this.session.connId,
        pathId: 0,
        counter,
        received,
        clientNonce,
        serverNonce: Buffer.alloc(16),
      });
      path.send({
        type: 'hello',
        mode: 'attach',
        pathId: 0,
        connId: this.session.connId,
        nonce: clientNonce,
        keyShare: Buffer.alloc(32),
        counter,
        received,
        recvWindow: this.session.receiveWindow,
        controlAddr: (await this.control?.address(socket.localAddress)) ?? null,
        proof,
      });
      const welcome = await firstFrame(path, this.opts.connectTimeoutMs);
      const fields = {
        connId: this.session.connId,
        pathId: 0,
        counter,
        received: welcome.type === 'welcome' ? welcome.received : 0,
        clientNonce,
        serverNonce: welcome.type === 'welcome' ? welcome.nonce : Buffer.alloc(16),
      };
      if (
        welcome.type !== 'welcome' ||
        !welcome.connId.equals(this.session.connId) ||
        !attachProofValid(this.session.secret, 'server', fields, welcome.proof)
      ) {
        path.fail('bad welcome', {
          code: ErrorCode.BAD_PROOF,
          reason: 'WELCOME did not prove the session secret',
        });
        throw new RoamError('ROAM_HANDSHAKE_FAILED', 'the server did not prove the session secret');
      }
      if (!this.migrating || this.session.destroyed) {
        path.close('migration already done');
        return;
      }
      this.migrating = false;
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      this.override = undefined;
      this.current = { host: target.host, port: target.port };
      this.session.peerControl = welcome.controlAddr ?? this.session.peerControl;
      for (const other of this.attempts.keys()) if (other !== socket) other.destroy();
      this.session.adoptPath(path, welcome.received, welcome.recvWindow);
    } catch (err) {
      const code = err instanceof RoamError ? err.code : 'ROAM_CONNECT_FAILED';
      rootLogger().debug(
        { session: this.session.id, code, err: (err as Error).message },
        'reconnect attempt failed',
      );
      if (code === 'ROAM_SESSION_UNKNOWN' || code === 'ROAM_SESSION_EXPIRED')
        this.session.destroy(err as Error);
    } finally {
      this.pending--;
      if (socket && this.handshaking === socket) this.handshaking = undefined;
      if (tracked) this.attempts.delete(tracked);
    }
  }

  private stop(): void {
    this.migrating = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    for (const s of this.attempts.keys()) s.destroy();
    this.attempts.clear();
    this.control?.close();
  }
}

/**
 * Opens a roam session, like net.connect: returns the Session at once (writes are buffered),
 * emits 'connect' when the first flowpath is up, 'error' if it cannot be established.
 */
export function connect(options: ConnectOptions, onConnect?: () => void): Session {
  const opts = resolveSessionOptions(options);
  const { host, port } = options;
  if (options.name !== undefined && (host !== undefined || options.resolve)) {
    throw new RoamError(
      'ROAM_BAD_INPUT',
      'connect takes a name or { host, port } or a resolve() hook, not several',
    );
  }
  if (options.name !== undefined && !options.names) {
    throw new RoamError(
      'ROAM_BAD_INPUT',
      `connect({ name: "${options.name}" }) needs names: a NamesClient or the name server URL`,
    );
  }
  if (
    options.name === undefined &&
    !options.resolve &&
    (typeof host !== 'string' ||
      !Number.isInteger(port) ||
      (port as number) < 1 ||
      (port as number) > 65535)
  ) {
    throw new RoamError(
      'ROAM_BAD_INPUT',
      'connect needs { host, port } (port 1..65535), { name, names } or a resolve() hook',
    );
  }
  const locator =
    options.name !== undefined
      ? new NameLocator({
          name: options.name,
          names: options.names as NamesOption,
          watch: options.watchName,
        })
      : undefined;
  const resolveTarget =
    (locator && (() => locator.next())) ??
    options.resolve ??
    (() => ({ host: host as string, port: port as number }));
  const session = new Session({ role: 'client', options: opts });
  const driver = new ClientDriver(
    session,
    opts,
    resolveTarget,
    options.socketFactory ?? (options.tls ? tlsSocketFactory(options.tls) : defaultFactory),
    options.localAddress,
    options.control ?? true,
    options.tls?.pinnedKey,
    options.resolve !== undefined || locator !== undefined,
    locator &&
      ((connectTo) =>
        new NameDial(locator, connectTo, {
          timeoutMs: opts.connectTimeoutMs,
          intervalMs: opts.retryIntervalMs,
        }).run()),
  );
  locator?.follow(session, (record) =>
    driver.serverMoved(undefined, (at) => listsEndpoint(record, at.host, at.port)),
  );
  if (onConnect) session.once('connect', onConnect);
  driver.open().catch((err: Error) => session.destroy(err));
  return session;
}
