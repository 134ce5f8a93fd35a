import { randomBytes } from 'node:crypto';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { setTimeout as delay } from 'node:timers/promises';
import { isRoamError, RoamError } from '../errors.js';
import { rootLogger } from '../log/logger.js';
import type { HelloFrame, WelcomeFrame } from '../wire/index.js';
import { ClientControl } from './control-client.js';
import { NameDial } from './names/dial.js';
import { listsEndpoint } from './names/endpoints.js';
import { type ConnectTo, NameLocator, type NamesOption } from './names/locator.js';
import { Flowpath } from './flowpath.js';
import { firstFrame } from './handshake.js';
import { joinHello, newHello, verifyJoinWelcome, verifyNewWelcome } from './handshake-messages.js';
import {
  connectOptionsSchema,
  type Endpoint,
  parseOptions,
  resolveSessionOptions,
  type SessionOptions,
  type SocketFactory,
} from './options.js';
import { newKeyShare, nonce } from './secret.js';
import { checkPin, type ClientTlsOptions, tlsSocketFactory } from './tls.js';
import type { SchedulerName } from '../multipath/scheduler.js';
import type { FlowpathInfo } from './flowpath.js';
import { type MultipathSessionOptions, Session } from './session.js';
import { pairKey, type PathPair, PathPairs, retryDelayMs } from './path-pairs.js';

export interface ConnectOptions extends Partial<SessionOptions> {
  host?: string;
  /** A number, or a string of digits as net takes it. */
  port?: number | string;
  /** As net's; true by default (docs/session.md, differences from net). */
  allowHalfOpen?: boolean;
  /** Bind flowpaths to this local address (a path of a multi-homed host). */
  localAddress?: string;
  /**
   * Open one flowpath from each of these local addresses to each address of the server
   * (the one connected to and those it advertises), up to maxFlowpaths. Default: only the
   * default route (or `localAddress`).
   */
  localAddresses?: string[];
  /** How the stream is spread over the flowpaths. Default 'aggregate'. */
  scheduler?: SchedulerName;
  /** Most flowpaths the client keeps open at once. Default 8. */
  maxFlowpaths?: number;
  /** Other multipath settings (best-path tuning, backup policy, stats interval). */
  multipath?: Omit<MultipathSessionOptions, 'scheduler'>;
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
  private nextPathId = 1;
  /** Every (local address, server address) pair the client wants a flowpath on. */
  private readonly pairs: PathPairs;
  /** Addresses the server advertised (ADDRESSES). */
  private advertised: Endpoint[] = [];
  /**
   * TCP connections of the other local addresses' flowpaths, opened while the first
   * flowpath's handshake runs (by pair key): their HELLO add goes out as soon as WELCOME
   * gives the session, not one TCP handshake later. Unclaimed ones are closed.
   */
  private readonly preconnects = new Map<string, Promise<Socket>>();
  /** Aborted when the session closes: cuts the wait between tries of the first flowpath. */
  private readonly stopping = new AbortController();

  private get localAddress(): string | undefined {
    return this.locals[0];
  }

  constructor(
    private readonly session: Session,
    private readonly opts: SessionOptions,
    private readonly resolveTarget: () => Endpoint | Promise<Endpoint>,
    private readonly factory: SocketFactory,
    private readonly locals: (string | undefined)[],
    private readonly maxFlowpaths: number,
    useControl: boolean,
    private readonly pinnedKey: string | undefined,
    /** True when the application gave resolve(): it, not the last endpoint, is the authority. */
    private readonly resolveIsAuthority: boolean,
    /** Opens the first connection instead of one attempt to target() (connect by name). */
    private readonly dial?: (
      connectTo: ConnectTo,
    ) => Promise<{ socket: Socket; endpoint: Endpoint }>,
  ) {
    this.pairs = new PathPairs(maxFlowpaths);
    if (useControl) this.control = new ClientControl(session, (to) => this.serverMoved(to));
    // More flowpaths will join the first: pace it, and say so in HELLO for the server's side.
    session.expectMultipath = maxFlowpaths > 1 && locals.filter((l) => l !== undefined).length > 1;
    session.on('migrating', () => this.startMigration());
    session.once('close', () => this.stop());
    session.on('peer-addresses', (list: Endpoint[]) => {
      this.advertised = list.map((a) => ({ host: a.host, port: a.port }));
      this.ensurePaths();
    });
    // After the frames that came with WELCOME (ADDRESSES, usually in the same read): the
    // pairing depends on the server's addresses.
    const later = () =>
      setImmediate(() => {
        this.ensurePaths();
        this.dropPreconnects();
      });
    session.on('connect', later);
    session.on('migrated', later);
    session.on('path-down', (info: FlowpathInfo) => this.onPathDown(info.pathId));
    session.pathController = {
      add: (opts) => this.addExplicit(opts),
      remove: (pathId) => {
        for (const pair of this.pairs.withPath(pathId)) pair.removed = true;
      },
    };
  }

  // ---- multipath: one flowpath per (local address, server address) pair -------------------

  /** Opens the flowpaths the client wants and does not have (PathPairs.wanted). */
  private ensurePaths(): void {
    if (this.session.state !== 'open' || !this.current) return;
    for (const pair of this.pairs.wanted(this.locals, [this.current, ...this.advertised]))
      void this.openPair(pair).catch(() => undefined);
  }

  private async openPair(pair: PathPair): Promise<FlowpathInfo> {
    pair.opening = true;
    try {
      const info = await this.addFlowpath(pair.local, pair.remote);
      pair.pathId = info.pathId;
      pair.failures = 0;
      return info;
    } catch (err) {
      pair.failures++;
      this.retryPair(pair);
      throw err;
    } finally {
      pair.opening = false;
    }
  }

  /** A pair that failed, or whose flowpath died while others live, is tried again later. */
  private retryPair(pair: PathPair): void {
    if (pair.removed || pair.retry || this.session.destroyed) return;
    const timer = setTimeout(
      () => {
        pair.retry = undefined;
        if (
          this.session.state === 'open' &&
          !pair.removed &&
          pair.pathId === undefined &&
          !pair.opening
        )
          void this.openPair(pair).catch(() => undefined);
      },
      retryDelayMs(pair.failures, this.opts.retryIntervalMs),
    );
    timer.unref();
    pair.retry = () => clearTimeout(timer);
  }

  private onPathDown(pathId: number): void {
    for (const pair of this.pairs.withPath(pathId)) {
      pair.pathId = undefined;
      pair.failures++;
      if (this.session.state === 'open') this.retryPair(pair);
    }
  }

  private addExplicit(opts: {
    localAddress?: string;
    remote?: { host: string; port: number };
  }): Promise<FlowpathInfo> {
    const remote = opts.remote ?? this.current;
    if (this.session.state !== 'open' || !remote)
      return Promise.reject(
        new RoamError('ROAM_BAD_INPUT', 'addPath needs an open session (wait for connect)'),
      );
    if (opts.localAddress !== undefined && isIP(opts.localAddress) === 0)
      return Promise.reject(
        new RoamError(
          'ROAM_BAD_INPUT',
          `localAddress must be a literal IP address, got ${opts.localAddress}`,
        ),
      );
    const pair = this.pairs.of(opts.localAddress, remote, true);
    pair.removed = false;
    if (pair.pathId !== undefined) {
      const info = this.session.paths.find((p) => p.pathId === pair.pathId);
      if (info) return Promise.resolve(info);
    }
    if (this.pairs.full)
      return Promise.reject(
        new RoamError('ROAM_PATH_LIMIT', `the session has its maxFlowpaths (${this.maxFlowpaths})`),
      );
    pair.retry?.();
    pair.retry = undefined;
    return this.openPair(pair);
  }

  /** Opens one more flowpath next to the live ones: HELLO mode add with a new path id. */
  private async addFlowpath(local: string | undefined, remote: Endpoint): Promise<FlowpathInfo> {
    const target = { host: remote.host, port: remote.port, localAddress: local };
    const key = pairKey(local, remote);
    const early = this.preconnects.get(key);
    this.preconnects.delete(key);
    const socket = await (early ?? this.connectTracked(target));
    if (this.session.state !== 'open') {
      socket.destroy();
      throw new RoamError('ROAM_HANDSHAKE_FAILED', 'the session is no longer open');
    }
    const path = new Flowpath(socket, this.opts);
    const { pathId, welcome } = await this.join(path, 'add', null);
    if (this.session.state !== 'open') {
      path.close('the session is no longer open');
      throw new RoamError('ROAM_HANDSHAKE_FAILED', 'the session is no longer open');
    }
    path.pathId = pathId;
    this.session.adoptPath(path, welcome.received, welcome.recvWindow);
    const info = this.session.paths.find((p) => p.pathId === pathId);
    if (!info) throw new RoamError('ROAM_HANDSHAKE_FAILED', 'the flowpath closed at once');
    return info;
  }

  /** A TCP connection for a flowpath, in `attempts` while it connects (stop() ends it). */
  private async connectTracked(target: Endpoint): Promise<Socket> {
    let tracked: Socket | undefined;
    return connectSocket(
      this.factory,
      target,
      this.opts.connectTimeoutMs,
      this.pinnedKey,
      (created) => {
        tracked = created;
        this.attempts.set(created, target);
      },
    ).finally(() => {
      if (tracked) this.attempts.delete(tracked);
    });
  }

  /**
   * While the first flowpath (to `first`) does its handshake, connects from every other
   * local address to the same server address: the pairs ensurePaths() will most likely want
   * (it may pair them with advertised addresses instead; those go unused and are closed).
   */
  private preconnect(first: Endpoint): void {
    if (this.maxFlowpaths < 2) return;
    let budget = this.maxFlowpaths - 1;
    const firstLocal = first.localAddress ?? this.localAddress;
    for (const local of this.locals) {
      if (budget <= 0) break;
      if (local === undefined || local === firstLocal) continue;
      if (isIP(local) !== isIP(first.host)) continue;
      const remote = { host: first.host, port: first.port };
      const key = pairKey(local, remote);
      if (this.preconnects.has(key)) continue;
      const pending = this.connectTracked({ ...remote, localAddress: local });
      // Until a flowpath owns it nobody listens: a reset then must not be an uncaught error.
      pending.then(
        (socket) => socket.on('error', () => undefined),
        () => undefined, // claimed later, or dropped; a failure shows there
      );
      this.preconnects.set(key, pending);
      budget--;
    }
  }

  /** Closes pre-opened connections nobody claimed. */
  private dropPreconnects(): void {
    for (const pending of this.preconnects.values())
      void pending.then(
        (socket) => socket.destroy(),
        () => undefined,
      );
    this.preconnects.clear();
  }

  /**
   * The exchange that joins a flowpath to the session (HELLO add or attach, WELCOME): proofs
   * of the session secret both ways. Resolves with the path id and the server's WELCOME.
   */
  private async join(
    path: Flowpath,
    mode: 'add' | 'attach',
    controlAddr: HelloFrame['controlAddr'],
  ): Promise<{ pathId: number; welcome: WelcomeFrame }> {
    const hello = {
      mode,
      connId: this.session.connId,
      secret: this.session.secret,
      pathId: this.allocPathId(),
      counter: ++this.counter,
      received: this.session.received,
      nonce: nonce(),
      recvWindow: this.session.receiveWindow,
      controlAddr,
    };
    path.send(joinHello(hello));
    const verified = verifyJoinWelcome(await firstFrame(path, this.opts.connectTimeoutMs), hello);
    if (!verified.ok) {
      path.fail('bad welcome', { code: verified.code, reason: verified.reason });
      throw new RoamError('ROAM_HANDSHAKE_FAILED', verified.why);
    }
    const { pathId } = hello;
    const { welcome } = verified;
    return { pathId, welcome };
  }

  private allocPathId(): number {
    const used = new Set(this.session.paths.map((p) => p.pathId));
    for (let i = 0; i < 65536; i++) {
      const id = this.nextPathId;
      this.nextPathId = (this.nextPathId + 1) % 65536;
      if (!used.has(id)) return id;
    }
    throw new RoamError('ROAM_PATH_LIMIT', 'no free path id');
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
    if (to) this.override = { host: to.host, port: to.port };
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

  /**
   * Establishes the session: the first flowpath, HELLO mode new with early data, WELCOME.
   * A flowpath that closes before WELCOME (reset, a server restarting) is replaced, every
   * retryIntervalMs until connectTimeoutMs has passed, and the early bytes go again on the
   * new one; a refusal (an ERROR from the server) or a failed connect ends it at once.
   */
  async open(): Promise<void> {
    const deadline = performance.now() + this.opts.connectTimeoutMs;
    // One client half for every try: a server can tell a retry from a new session.
    const clientHalf = randomBytes(8);
    for (;;) {
      let outcome: 'established' | 'lost';
      try {
        outcome = await this.openFirst(clientHalf);
      } finally {
        // A try that failed leaves its early bytes to the next (or to nobody).
        if (this.session.state === 'connecting') this.session.abandonEarly();
      }
      if (outcome === 'established') return;
      const wait = this.opts.retryIntervalMs;
      if (this.session.destroyed || performance.now() + wait >= deadline)
        throw new RoamError(
          'ROAM_HANDSHAKE_FAILED',
          `the first flowpath closed before WELCOME, again until connectTimeoutMs (${this.opts.connectTimeoutMs} ms)`,
        );
      await delay(wait, undefined, { signal: this.stopping.signal }).catch(() => undefined);
      if (this.session.destroyed)
        throw new RoamError('ROAM_SESSION_CLOSED', 'the session was closed while connecting');
    }
  }

  /** One try at the first flowpath: 'lost' when it closed before WELCOME (worth another). */
  private async openFirst(clientHalf: Buffer): Promise<'established' | 'lost'> {
    // The CPU work of the handshake is done while TCP connects, not after.
    const share = newKeyShare();
    const clientNonce = nonce();
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
      : await this.target().then(async (endpoint) => {
          const connecting = connectSocket(
            this.factory,
            endpoint,
            this.opts.connectTimeoutMs,
            this.pinnedKey,
          );
          if (isIP(endpoint.host) !== 0) this.control?.prepare(endpoint.host);
          this.preconnect(endpoint);
          return { endpoint, socket: await connecting };
        });
    if (this.dial) this.preconnect(target);
    if (this.session.destroyed) {
      socket.destroy();
      throw new RoamError('ROAM_SESSION_CLOSED', 'the session was closed while connecting');
    }
    const path = new Flowpath(socket, this.opts);
    const control = await this.control?.address(socket.localAddress);
    // HELLO and the early data leave together, in one segment when they fit.
    const hello = newHello({
      clientHalf,
      share,
      nonce: clientNonce,
      recvWindow: this.session.receiveWindow,
      controlAddr: control ?? null,
      multipath: this.session.expectMultipath,
    });
    const sendHello = (cookie?: Buffer) => {
      socket.cork();
      try {
        if (cookie) path.send({ type: 'cookie', cookie });
        path.send(hello);
        this.session.beginEarly(path);
      } finally {
        socket.uncork();
      }
    };
    sendHello();
    let welcome;
    try {
      welcome = await firstFrame(path, this.opts.connectTimeoutMs);
      // Admission hook: a server under load asks for its cookie back first (docs/protocol.md).
      for (let n = 0; welcome.type === 'cookie' && n < 2; n++) {
        this.session.abandonEarly();
        sendHello(welcome.cookie);
        welcome = await firstFrame(path, this.opts.connectTimeoutMs);
      }
    } catch (err) {
      // Bytes that are no roam frame at all: another kind of server. No retry helps.
      if (path.notRoam)
        throw new RoamError(
          'ROAM_NOT_ROAM',
          `${target.host}:${target.port} is not a roam server: ${path.notRoam}`,
          { cause: err },
        );
      // Closed without a word (no ERROR, no timeout): the connection broke, not the server
      // refusing us. The early bytes are still in the output buffer: try again.
      if (isRoamError(err, 'ROAM_HANDSHAKE_FAILED') && !this.session.destroyed) {
        rootLogger().debug(
          { err: (err as Error).message },
          'first flowpath lost before WELCOME: trying again',
        );
        return 'lost';
      }
      throw err;
    }
    const verified = verifyNewWelcome(welcome, { clientHalf, share, nonce: clientNonce });
    if (!verified.ok) {
      path.fail(verified.why, { code: verified.code, reason: verified.reason });
      throw new RoamError('ROAM_HANDSHAKE_FAILED', verified.why);
    }
    const { secret } = verified;
    welcome = verified.welcome;
    if (this.session.destroyed) {
      path.close('the session was closed while connecting');
      throw new RoamError('ROAM_SESSION_CLOSED', 'the session was closed while connecting');
    }
    this.current = { host: target.host, port: target.port };
    this.session.establish(welcome.connId, secret);
    this.session.peerControl = welcome.controlAddr;
    path.pathId = 0;
    this.pairs.of(target.localAddress ?? this.localAddress, this.current).pathId = 0;
    this.session.adoptPath(path, welcome.received, welcome.recvWindow);
    return 'established';
  }

  /** Where the next attempt goes; attempts after a move try each local address in turn. */
  private async target(): Promise<Endpoint> {
    const t =
      this.override ??
      (this.resolveIsAuthority ? undefined : this.current) ??
      (await this.resolveTarget());
    const local = this.locals[this.attemptCount % this.locals.length];
    return { host: t.host, port: t.port, localAddress: t.localAddress ?? local };
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
      if (!this.migrating || this.session.destroyed) {
        socket.destroy();
        return;
      }
      if (this.handshaking) {
        // Another attempt got through first and is attaching: an attach of ours would replace
        // its path at the server. To the same address, its handshake decides and this
        // connection is not needed. To an address resolve() gave since, it is the other one
        // that went where the server was (a stalled path accepts and then says nothing):
        // this attempt takes over instead of waiting for that handshake to time out.
        const other = this.attempts.get(this.handshaking);
        if (!other || (other.host === target.host && other.port === target.port)) {
          socket.destroy();
          return;
        }
        this.handshaking.on('error', () => undefined);
        this.handshaking.destroy(new Error('superseded by an attempt to a newer address'));
      }
      this.handshaking = socket;
      const path = new Flowpath(socket, this.opts);
      const { pathId, welcome } = await this.join(
        path,
        'attach',
        (await this.control?.address(socket.localAddress)) ?? null,
      );
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
      path.pathId = pathId;
      this.pairs.resumedOn(this.pairs.of(target.localAddress, this.current), pathId);
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
    this.stopping.abort();
    this.dropPreconnects();
    this.migrating = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    for (const s of this.attempts.keys()) s.destroy();
    this.attempts.clear();
    this.control?.close();
    this.pairs.stop();
  }
}

/**
 * Opens a roam session, like net.connect: returns the Session at once (writes are buffered),
 * emits 'connect' when the first flowpath is up, 'error' if it cannot be established.
 */
export function connect(options: ConnectOptions, onConnect?: () => void): Session {
  const given = parseOptions(connectOptionsSchema, options, 'connect()');
  const opts = resolveSessionOptions(given);
  const { host, port } = given;
  if (given.name !== undefined && (host !== undefined || given.resolve)) {
    throw new RoamError(
      'ROAM_BAD_INPUT',
      'connect(): takes a name, or { host, port }, or a resolve() hook, not several',
    );
  }
  if (given.name !== undefined && !given.names) {
    throw new RoamError(
      'ROAM_BAD_INPUT',
      `connect(): name "${given.name}" needs names: a NamesClient or the name server URL`,
    );
  }
  if (given.name === undefined && !given.resolve && (host === undefined || port === undefined)) {
    throw new RoamError(
      'ROAM_BAD_INPUT',
      `connect(): needs { host, port }, { name, names } or a resolve() hook, got ${
        options === undefined ? 'nothing' : `{ ${Object.keys(options).join(', ')} }`
      }`,
    );
  }
  const locals = given.localAddresses ?? [given.localAddress];
  const maxFlowpaths = given.maxFlowpaths ?? 8;
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
  const session = new Session({
    role: 'client',
    options: opts,
    multipath: { ...given.multipath, scheduler: given.scheduler ?? 'aggregate' },
    allowHalfOpen: given.allowHalfOpen,
  });
  const driver = new ClientDriver(
    session,
    opts,
    resolveTarget,
    options.socketFactory ?? (options.tls ? tlsSocketFactory(options.tls) : defaultFactory),
    [...new Set(locals)],
    maxFlowpaths,
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
