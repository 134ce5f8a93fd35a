import { Duplex } from 'node:stream';
import { RoamError } from '../errors.js';
import { rootLogger } from '../log/logger.js';
import {
  createScheduler,
  type SchedulerName,
  type SchedulerOptions,
} from '../multipath/scheduler.js';
import { MultipathSender, type SenderPath } from '../multipath/sender.js';
import {
  type Addr,
  ErrorCode,
  type Frame,
  INITIAL_WINDOW,
  type PathStatusFrame,
} from '../wire/index.js';
import type { PathPolicy } from '../multipath/policy.js';
import type { Flowpath, FlowpathInfo } from './flowpath.js';
import type { SessionOptions } from './options.js';
import { AnnouncedRoles, PeerRoles, roleOf } from './path-status.js';
import { ReceiveBuffer } from '../stream/receive-buffer.js';
import { SendBuffer } from '../stream/send-buffer.js';

/**
 * A roam session: a reliable, ordered byte stream (a Node Duplex, used like net.Socket)
 * that outlives the TCP connections (flowpaths) carrying it. It keeps its own sequence
 * numbers, a bounded output buffer of unacknowledged bytes and a bounded input buffer, so
 * that when a flowpath dies the stream resumes on a new one from exactly what the peer has.
 * Establishing and re-establishing flowpaths is the job of the client and server modules;
 * the session moves bytes over whatever paths it is given.
 *
 *   connecting ──establish()──▶ open ⇄ detached ──(detach timeout)──▶ closed
 *                                 │  (no flowpath)                       ▲
 *                                 └──(FIN sent and acked, FIN received)──┘ also destroy()
 *
 * While connecting, a client may have an early flowpath (beginEarly): its HELLO went out,
 * WELCOME has not come back, and the first INITIAL_WINDOW bytes of the stream go on it
 * already (early data). WELCOME makes it the first open flowpath (adoptPath); its loss before
 * WELCOME (abandonEarly) puts every byte back to be sent on the next one.
 *
 * Close is a user-level FIN carried through the output buffer at the sequence number after
 * the last byte, so a move during closing still completes the close: the FIN is resent
 * from the output buffer like any other byte the peer lacks.
 */
export type SessionState = 'connecting' | 'open' | 'detached' | 'closed';
export type { PathPolicy };

export interface MultipathSessionOptions {
  /** How the stream is spread over flowpaths. Default 'aggregate'. */
  scheduler?: SchedulerName;
  /** best-path tuning. */
  bestPath?: SchedulerOptions['bestPath'];
  /** backup policy. */
  policy?: PathPolicy;
  /** Interval of 'path-stats' events, ms. Default 1000. */
  statsIntervalMs?: number;
}

export interface SessionInit {
  role: 'client' | 'server';
  options: SessionOptions;
  multipath?: MultipathSessionOptions;
  /** As net's; roam's default is true (docs/session.md, differences from net). */
  allowHalfOpen?: boolean;
}

/** What the client's path manager does for addPath/removePath. */
export interface PathController {
  add(opts: {
    localAddress?: string;
    remote?: { host: string; port: number };
  }): Promise<FlowpathInfo>;
  remove(pathId: number): void;
}

const ACK_EVERY_FRACTION = 4;
/** A PATH_ACK goes out once this many bytes arrived on a flowpath unreported (several paths)... */
const PATH_ACK_BYTES_MULTI = 16 * 1024;
/** ... or this many with one flowpath, where only the stats use it... */
const PATH_ACK_BYTES_SINGLE = 1024 * 1024;
/** ... or this long after the first unreported byte. */
const PATH_ACK_DELAY_MS = 5;
/**
 * With several flowpaths, once nothing arrived on any of them for this long, every flowpath
 * that has not carried our latest acknowledgment gets it: when the one carrying the data
 * stalls, its last reports are lost with it, and the peer, re-sending on another path,
 * should start from what we have rather than from what it last heard.
 */
const QUIET_ACK_MS = 30;

interface PathReceipt {
  received: number;
  reported: number;
  timer: NodeJS.Timeout | undefined;
  /** The cumulative acknowledgment last sent on this flowpath. */
  acked: number;
}

export class Session extends Duplex {
  readonly role: 'client' | 'server';
  state: SessionState = 'connecting';
  connId: Buffer = Buffer.alloc(16);
  secret: Buffer = Buffer.alloc(0);
  /** The peer's UDP control socket (server mobility), as it last told us. */
  peerControl: { host: string; port: number } | null = null;

  private readonly opts: SessionOptions;
  private readonly output: SendBuffer;
  private readonly input: ReceiveBuffer;
  private readonly flowpaths = new Map<number, Flowpath>();
  private readonly receipts = new Map<Flowpath, PathReceipt>();
  private readonly sender: MultipathSender;
  private readonly mp: MultipathSessionOptions;
  /** The peer's cumulative acknowledgment of our stream (FIN included). */
  private peerAck = 0;
  private peerWindowEdge: number;
  private checkTimer: NodeJS.Timeout | undefined;
  private statsTimer: NodeJS.Timeout | undefined;
  /** Runs while data arrives on several flowpaths (see QUIET_ACK_MS). */
  private quietTimer: NodeJS.Timeout | undefined;
  private lastArrivalAt = 0;
  /** Set by the client's path manager: addPath/removePath go through it. */
  pathController: PathController | undefined;
  private localFinSeq: number | undefined;
  private finAcked = false;
  private remoteFinSeq: number | undefined;
  private remoteFinDelivered = false;
  private pendingWrite: ((err?: Error | null) => void) | undefined;
  private pendingFinal: ((err?: Error | null) => void) | undefined;
  private ackTimer: NodeJS.Timeout | undefined;
  private detachTimer: NodeJS.Timeout | undefined;
  private lastAckSent = 0;
  private lastWindowSent = 0;
  private detachedAt: number | undefined;
  /** Client: the roles announced to the server with PATH_STATUS. */
  private readonly announced = new AnnouncedRoles();
  /** Server: the roles the client gave its flowpaths with PATH_STATUS. */
  private readonly peerRoles = new PeerRoles();
  /** Server: the scheduler is 'backup' because the client made a path a backup. */
  private followingPeer = false;
  /** Server: flowpaths whose role changed in this read; applied once, in a microtask. */
  private readonly rolesChanged = new Set<number>();
  /** dropPaths() is closing every flowpath: none of them is removed on its own. */
  private droppingAll = false;
  /** Client, connecting: the first flowpath, HELLO sent, WELCOME not yet received. */
  private early: Flowpath | undefined;
  /**
   * Server: the client showed it has our WELCOME (a frame other than DATA, which may be
   * early data, or an attach with its proof). Until then a HELLO new from the same client
   * (its first flowpath broke before WELCOME, it started over) supersedes this session.
   */
  peerConfirmed = false;
  /**
   * The server's table hook, called as the session is destroyed: not the application's
   * 'close' event, which an application may remove listeners from and which comes later.
   */
  onDestroyed: ((err: Error | null) => void) | undefined;
  /** The peer destroyed its session in order (onPeerDestroyed): nothing more reaches it. */
  private peerGone = false;

  constructor(init: SessionInit) {
    super({
      allowHalfOpen: init.allowHalfOpen ?? true,
      readableHighWaterMark: 64 * 1024,
      writableHighWaterMark: 64 * 1024,
      // 'close' is emitted by _destroy a macrotask later, as net's comes after the handle
      // closed: code that awaits 'end' and then 'close' must still see it.
      emitClose: false,
    });
    this.role = init.role;
    this.opts = init.options;
    this.output = new SendBuffer(this.opts.outputBufferBytes);
    this.input = new ReceiveBuffer(this.opts.inputBufferBytes);
    // Nothing goes out before the peer's HELLO/WELCOME says how much it takes.
    this.peerWindowEdge = 0;
    this.mp = init.multipath ?? {};
    this.sender = new MultipathSender(
      this.output,
      createScheduler(this.mp.scheduler ?? 'aggregate', {
        bestPath: this.mp.bestPath,
        backup: { prefer: this.mp.policy?.prefer, demandMs: this.mp.policy?.demandMs },
      }),
      { maxFrameBytes: this.opts.maxFrameBytes, now: () => performance.now() },
    );
    this.watchScheduler();
    this.sender.onSuspect = (pathId, suspect) => {
      const path = this.flowpaths.get(pathId);
      if (path) this.emit(suspect ? 'path-suspect' : 'path-recovered', this.pathInfo(path));
    };
    this.on('newListener', (event) => {
      if (event === 'path-stats') queueMicrotask(() => this.armStats());
    });
  }

  /**
   * Every event reaches the application through here. A listener that throws must not
   * unwind into the session's own code (a frame handler, a handshake's promise chain),
   * where it would be taken for a protocol error or lost: as with net, it reaches the
   * process as an uncaught exception, and the session's state stays consistent.
   */
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    try {
      return super.emit(event, ...args);
    } catch (err) {
      process.nextTick(() => {
        throw err;
      });
      return true;
    }
  }

  /** Server: tells the client about further addresses of the server (ADDRESSES). */
  advertise(addresses: { host: string; port: number }[]): void {
    const path = this.primary;
    if (this.role === 'server' && path) path.send({ type: 'addresses', addresses });
  }

  /**
   * More flowpaths are expected: the client has several local addresses, or (at the server)
   * its HELLO said so (MULTIPATH). The first flowpath is then paced as if the others were
   * there already, so that what they could carry of a short transfer waits for them rather
   * than queueing behind the first (issue 4's 1 MB row).
   */
  get expectMultipath(): boolean {
    return this.sender.holdBack;
  }

  set expectMultipath(on: boolean) {
    this.sender.holdBack = on;
  }

  /** The scheduler in use. */
  get scheduler(): SchedulerName {
    return this.sender.scheduler.name;
  }

  /** Changes the scheduler of a live session; it applies from the next chunk sent. */
  setScheduler(name: SchedulerName, opts?: SchedulerOptions): void {
    if (opts?.backup?.prefer) this.mp.policy = { ...this.mp.policy, prefer: opts.backup.prefer };
    this.sender.scheduler = createScheduler(name, {
      bestPath: opts?.bestPath ?? this.mp.bestPath,
      backup: opts?.backup ?? {
        prefer: this.mp.policy?.prefer,
        demandMs: this.mp.policy?.demandMs,
      },
    });
    this.mp.scheduler = name;
    this.followingPeer = false;
    this.watchScheduler();
    this.sender.refreshPolicies();
    this.announceRoles();
    this.pump();
  }

  /**
   * Replaces the path policy (preferred paths, costs, byte caps) of a live session. On the
   * client, the roles it gives (backup under the backup scheduler, cost) also go to the
   * server with PATH_STATUS, so that the download direction follows them.
   */
  setPathPolicy(policy: PathPolicy): void {
    this.mp.policy = { ...policy };
    this.sender.refreshPolicies();
    this.announceRoles();
    this.pump();
  }

  /** Client: PATH_STATUS backup/active for the open flowpaths when a role changed. */
  private announceRoles(): void {
    if (this.role !== 'client') return;
    const open = [...this.flowpaths.values()].filter((p) => p.state === 'open');
    const roles = new Map(
      open.map((p) => [p.pathId, roleOf(this.sender.scheduler.name, this.policyOf(p))]),
    );
    const frames = this.announced.announce(roles);
    if (frames.length === 0) return;
    for (const path of open) for (const frame of frames) path.send(frame);
  }

  /** Server: the client announced a flowpath's role, or that it removed it. */
  private onPathStatus(frame: PathStatusFrame): void {
    const target = this.flowpaths.get(frame.pathId);
    // A path we no longer have (or never had): nothing to do. Replies would let a peer
    // amplify; errors would end a session over a harmless race with a close.
    if (!target || target.state !== 'open') return;
    if (frame.status === 'removed') {
      // The client cannot send a FIN from an address that vanished: this is its FIN.
      // onPathClosed re-sends what the path held and the client lacks on the others.
      target.close('the client removed the flowpath (PATH_STATUS)', 0);
      return;
    }
    const role = { status: frame.status, cost: frame.cost };
    if (!this.peerRoles.set(frame.pathId, role, frame.seq)) return;
    // Once per read, not per frame: the frames of one announcement arrive together, and a
    // flood costs a map update per frame.
    if (this.rolesChanged.size === 0) {
      queueMicrotask(() => {
        const changed = [...this.rolesChanged];
        this.rolesChanged.clear();
        if (this.state === 'closed') return;
        this.followPeerRoles();
        for (const pathId of changed) {
          const now = this.peerRoles.get(pathId);
          if (now) this.emit('path-role', { pathId, ...now });
        }
      });
    }
    // Bounded by the live flowpaths: set() accepts only paths the session has.
    this.rolesChanged.add(frame.pathId);
  }

  /** Server: switch to the backup scheduler while the client keeps a path as backup. */
  private followPeerRoles(): void {
    const anyBackup = this.peerRoles.anyBackup;
    if (anyBackup && this.sender.scheduler.name !== 'backup') {
      this.sender.scheduler = createScheduler('backup', {
        backup: { prefer: this.mp.policy?.prefer, demandMs: this.mp.policy?.demandMs },
      });
      this.followingPeer = true;
      this.watchScheduler();
    } else if (!anyBackup && this.followingPeer) {
      this.followingPeer = false;
      this.sender.scheduler = createScheduler(this.mp.scheduler ?? 'aggregate', {
        bestPath: this.mp.bestPath,
        backup: { prefer: this.mp.policy?.prefer, demandMs: this.mp.policy?.demandMs },
      });
      this.watchScheduler();
    }
    this.sender.refreshPolicies();
    this.pump();
  }

  /** best-path's switches become 'path-switch' events ({ from, to } path ids, `at` the sender's clock). */
  private watchScheduler(): void {
    this.sender.scheduler.onSwitch = (from, to, at) => this.emit('path-switch', { from, to, at });
  }

  /**
   * Opens another flowpath (client only): from `localAddress`, to `remote` or the server's
   * current address. Resolves when it carries data.
   */
  addPath(opts: {
    localAddress?: string;
    remote?: { host: string; port: number };
  }): Promise<FlowpathInfo> {
    if (!this.pathController)
      return Promise.reject(
        new RoamError('ROAM_BAD_INPUT', 'only the client end of a session opens flowpaths'),
      );
    return this.pathController.add(opts);
  }

  /**
   * Closes flowpath `pathId`; what it carried and the peer lacks is re-sent on the others.
   * The client does not open it again. The last flowpath cannot be removed (use migrate()).
   */
  removePath(pathId: number): void {
    const path = this.flowpaths.get(pathId);
    if (!path) throw new RoamError('ROAM_BAD_INPUT', `no flowpath ${pathId} in session ${this.id}`);
    const open = [...this.flowpaths.values()].filter((p) => p.state === 'open');
    if (open.length <= 1 && path.state === 'open')
      throw new RoamError(
        'ROAM_BAD_INPUT',
        'cannot remove the last flowpath; use migrate() to move or destroy() to end',
      );
    this.pathController?.remove(pathId);
    // A plain TCP close: an ERROR CLOSED would end the whole session at the peer.
    path.close('removed by the application', 1000);
  }

  /** The session id (hex of the connection id both ends agreed on). */
  get id(): string {
    return this.connId.toString('hex');
  }

  get paths(): FlowpathInfo[] {
    return [...this.flowpaths.values()].map((p) => this.pathInfo(p));
  }

  private pathInfo(path: Flowpath): FlowpathInfo {
    const info = path.info();
    const st = this.sender.stats(path.pathId);
    const rx = this.receipts.get(path);
    if (st) {
      info.sentBytes = st.sentBytes;
      info.deliveredBytes = st.deliveredBytes;
      info.inflightBytes = st.inflightBytes;
      info.lostBytes = st.lostBytes;
      info.lossRate = st.sentBytes > 0 ? st.lostBytes / st.sentBytes : 0;
      info.rateBytesPerSec = st.rateBytesPerSec;
      info.capBytes = st.capBytes;
      info.suspect = st.suspect;
    }
    info.receivedBytes = rx?.received ?? 0;
    return info;
  }

  /** The flowpath that carries acknowledgments and names the session's addresses. */
  private get primary(): Flowpath | undefined {
    let best: Flowpath | undefined;
    for (const p of this.flowpaths.values()) {
      if (p.state !== 'open') continue;
      if (!best || (p.minRttMs ?? Infinity) < (best.minRttMs ?? Infinity)) best = p;
    }
    return best;
  }

  get remoteAddress(): string | undefined {
    return this.primary?.socket.remoteAddress;
  }

  get remotePort(): number | undefined {
    return this.primary?.socket.remotePort;
  }

  get localAddress(): string | undefined {
    return this.primary?.socket.localAddress;
  }

  get localPort(): number | undefined {
    return this.primary?.socket.localPort;
  }

  /** Bytes of the peer's stream received so far, counting its FIN: what HELLO/WELCOME report. */
  get received(): number {
    return this.input.nextSeq + (this.remoteFinDelivered ? 1 : 0);
  }

  /** Bytes held for retransmission and for reordering: what a detached session costs. */
  get bufferedBytes(): number {
    return this.output.size + this.input.buffered + this.readableLength;
  }

  /**
   * Bytes past our cumulative ack the peer may send: the input buffer less what the
   * application has not read. Out-of-order bytes held for reordering lie inside it, so the
   * peer's s − a ≤ b (msocket §III-C) keeps all of them within the bound.
   */
  get receiveWindow(): number {
    return Math.max(0, this.opts.inputBufferBytes - this.readableLength);
  }

  /** When the session lost its last flowpath, or undefined when it has one. */
  get detachedSince(): number | undefined {
    return this.detachedAt;
  }

  /** Completes establishment: the handshake agreed on the id and the secret. */
  establish(connId: Buffer, secret: Buffer): void {
    this.connId = connId;
    this.secret = secret;
  }

  /**
   * Adds a flowpath that completed its handshake. `peerReceived` is how much of our stream
   * the peer has: everything before it is acknowledged, everything after it is resent.
   */
  adoptPath(path: Flowpath, peerReceived: number, peerWindow: number): void {
    if (this.state === 'closed') {
      path.fail('session closed', { code: ErrorCode.CLOSED, reason: 'session closed' });
      return;
    }
    const old = this.flowpaths.get(path.pathId);
    if (old && old !== path) old.close('replaced by a new flowpath with the same path id');
    const wasDetached = this.state === 'detached';
    const wasConnecting = this.state === 'connecting';
    // The flowpath that carried early data is already the sender's: what it sent is in
    // flight on this very connection, in order, so nothing is re-sent.
    const wasEarly = this.early === path;
    if (wasEarly) this.early = undefined;
    else this.abandonEarly();
    // With no other flowpath alive this is a resume: everything the peer lacks goes again.
    const resume = ![...this.flowpaths.values()].some((p) => p !== path && p.state === 'open');
    path.open();
    this.flowpaths.set(path.pathId, path);
    this.receipts.set(path, { received: 0, reported: 0, timer: undefined, acked: 0 });
    path.on('frame', (frame) => this.onFrame(path, frame));
    queueMicrotask(() => path.deliverHeld());
    if (!wasEarly) path.on('drain', () => this.pump());
    path.once('closed', (reason) => this.onPathClosed(path, reason));
    try {
      this.acknowledge(peerReceived, peerWindow);
    } catch (err) {
      path.fail('bad resume point', { code: ErrorCode.PROTOCOL, reason: (err as Error).message });
      return;
    }
    if (!wasEarly) {
      if (resume) this.sender.reset(peerReceived);
      this.sender.addPath(this.senderLink(path), this.peerAck);
    }
    this.state = 'open';
    if (this.detachTimer) clearTimeout(this.detachTimer);
    this.detachTimer = undefined;
    const since = this.detachedAt;
    this.detachedAt = undefined;
    this.emit('path-up', this.pathInfo(path));
    if (wasDetached && since !== undefined)
      this.emit('migrated', { ms: performance.now() - since, pathId: path.pathId });
    if (wasConnecting) this.emit('connect');
    this.announceRoles();
    this.pump();
    this.sendAck();
  }

  /**
   * Client: HELLO mode new went out on `path`; until WELCOME, the stream's first
   * INITIAL_WINDOW bytes (and a FIN right after them) go on it as early data. The session
   * does not read the path: the handshake does, and hands it over with adoptPath().
   */
  beginEarly(path: Flowpath): void {
    if (this.role !== 'client' || this.state !== 'connecting' || this.early)
      throw new RoamError('ROAM_BAD_INPUT', 'early data needs a connecting client session');
    this.early = path;
    this.peerWindowEdge = INITIAL_WINDOW;
    this.sender.addPath(this.senderLink(path), 0);
    path.on('drain', () => this.pump());
    this.pump();
  }

  /**
   * Client: the early flowpath is gone before WELCOME (closed, refused, timed out). Its
   * bytes may or may not have reached a server, but no session took them: the next HELLO
   * opens a new session, so the stream goes again from byte 0 (it is all still in the
   * output buffer, as nothing was acknowledged).
   */
  abandonEarly(): void {
    const path = this.early;
    if (!path) return;
    this.early = undefined;
    this.sender.removePath(path.pathId, 0);
    this.sender.reset(0);
    this.peerWindowEdge = 0;
  }

  /**
   * Forces a migration: the client drops its flowpaths and attaches again (from whatever
   * address the host has now). A server moves with `server.move()` instead.
   */
  migrate(): void {
    if (this.role !== 'client') {
      throw new RoamError(
        'ROAM_BAD_INPUT',
        'only the client end of a session migrates; move a server with server.move()',
      );
    }
    if (this.state === 'open') this.dropPaths('migration requested');
  }

  /** Closes every flowpath so the owner re-establishes one (a forced migration). */
  dropPaths(reason: string): void {
    this.droppingAll = true;
    try {
      for (const path of [...this.flowpaths.values()]) path.close(reason);
    } finally {
      this.droppingAll = false;
    }
  }

  // ---- Duplex ----------------------------------------------------------------------------

  override _write(
    chunk: Buffer,
    _enc: BufferEncoding,
    callback: (err?: Error | null) => void,
  ): void {
    if (this.peerGone) {
      callback(
        new RoamError(
          'ROAM_SESSION_CLOSED',
          'the peer closed the session: nothing more reaches it',
        ),
      );
      return;
    }
    this.output.append(chunk);
    this.afterAppend(callback);
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (err?: Error | null) => void): void {
    if (this.peerGone) {
      this._write(Buffer.alloc(0), 'binary', callback);
      return;
    }
    for (const { chunk } of chunks) this.output.append(chunk);
    this.afterAppend(callback);
  }

  override _final(callback: (err?: Error | null) => void): void {
    if (this.peerGone) {
      callback();
      return;
    }
    this.localFinSeq = this.output.endSeq;
    this.pendingFinal = callback;
    this.pump();
  }

  override _read(): void {
    // The application consumed data: tell the peer once the window has opened enough.
    if (this.receiveWindow - this.lastWindowSent >= this.opts.inputBufferBytes / ACK_EVERY_FRACTION)
      this.sendAck();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    const wasOpen = this.state === 'open';
    this.state = 'closed';
    this.clearTimers();
    // Tell the peer, or it would take the silence for a move and wait for us for a day.
    // (A session that completed normally has no flowpath left by now.) As TCP does, a
    // destroy that drops bytes the application never read is a reset; otherwise the peer
    // learns, from our last acknowledgment, whether all it sent arrived: then it ends in
    // order (net's FIN after close()).
    // "Unread" as net sees it: beyond what a stream reads ahead (its high-water mark) the
    // bytes would still be in the kernel, and closing such a socket sends a reset.
    const unread = this.readableLength > this.readableHighWaterMark || this.input.buffered > 0;
    for (const path of this.flowpaths.values()) {
      if (wasOpen && path.state === 'open')
        path.send({ type: 'ack', ack: this.received, window: this.receiveWindow });
      path.fail('session destroyed', {
        code: unread ? ErrorCode.RESET : ErrorCode.CLOSED,
        reason: err ? err.message.slice(0, 200) : 'session closed',
      });
    }
    this.flowpaths.clear();
    // The handshake waiting on it fails at once instead of at its timeout.
    this.early?.close('session destroyed');
    this.early = undefined;
    const pending = this.pendingWrite ?? this.pendingFinal;
    this.pendingWrite = undefined;
    this.pendingFinal = undefined;
    pending?.(err ?? new RoamError('ROAM_SESSION_CLOSED', 'session closed'));
    callback(err);
    this.onDestroyed?.(err);
    setImmediate(() => super.emit('close'));
  }

  // ---- sending -----------------------------------------------------------------------------

  private afterAppend(callback: (err?: Error | null) => void): void {
    this.pump();
    if (this.output.full) this.pendingWrite = callback;
    else callback();
  }

  /** Sends what the flowpaths, the peer's window and the scheduler allow. */
  private pump(): void {
    if (this.state !== 'open' && !(this.state === 'connecting' && this.early)) return;
    const ack = this.received;
    const window = this.receiveWindow;
    const sentBefore = this.sender.sendNext;
    this.sender.pump(this.peerAck, this.peerWindowEdge, this.localFinSeq);
    if (this.sender.sendNext !== sentBefore) this.noteAckSent(ack, window);
    this.armCheck();
  }

  /**
   * One timer looks for stalled flowpaths while bytes are in flight. Only the timer decides
   * (check, then pump what a suspect path held on the others): deciding here, at the end of a
   * pump, would leave those bytes waiting for some later event. CI once saw a stream wait
   * for the suspect path's death that way.
   */
  private armCheck(): void {
    if (this.checkTimer || this.state !== 'open' || this.flowpaths.size < 2) return;
    const ms = this.sender.nextCheckMs();
    if (ms === Infinity) return;
    this.checkTimer = setTimeout(() => {
      this.checkTimer = undefined;
      if (this.state !== 'open') return;
      this.sender.check(this.peerAck);
      this.pump();
    }, ms);
    this.checkTimer.unref();
  }

  private armStats(): void {
    if (this.statsTimer || this.state === 'closed' || this.listenerCount('path-stats') === 0)
      return;
    this.statsTimer = setInterval(() => {
      if (this.listenerCount('path-stats') === 0 || this.state === 'closed') {
        clearInterval(this.statsTimer);
        this.statsTimer = undefined;
        return;
      }
      this.emit('path-stats', this.paths);
    }, this.mp.statsIntervalMs ?? 1000);
    this.statsTimer.unref();
  }

  private senderLink(path: Flowpath): SenderPath {
    return {
      id: path.pathId,
      writable: () => path.writable,
      // An early flowpath is still in its handshake, and already carries data.
      open: () => path.state !== 'closed',
      sendData: (seq, payload, fin) =>
        path.send({
          type: 'data',
          seq,
          ack: this.received,
          window: this.receiveWindow,
          fin,
          payload,
        }),
      cork: () => path.socket.cork(),
      uncork: () => path.socket.uncork(),
      minRttMs: () => path.minRttMs,
      rttAvgMs: () => path.rttAvgMs,
      policy: () => this.policyOf(path),
    };
  }

  private policyOf(path: Flowpath): { preferred: boolean; cost: number; byteCap: number } {
    const policy = this.mp.policy;
    const { localAddress, remoteAddress, remotePort } = path.socket;
    const keys = [
      localAddress,
      remoteAddress,
      remoteAddress === undefined ? undefined : `${remoteAddress}:${remotePort}`,
    ].filter((k): k is string => typeof k === 'string');
    const find = (table: Record<string, number> | undefined) =>
      keys.map((k) => table?.[k]).find((v) => v !== undefined);
    // On the server, the client's roles (PATH_STATUS) override the server's own policy.
    const peer = this.role === 'server' ? this.peerRoles.get(path.pathId) : undefined;
    return {
      preferred: peer
        ? peer.status === 'active'
        : policy?.prefer
          ? keys.some((k) => policy.prefer?.includes(k))
          : true,
      cost: peer?.cost ?? find(policy?.cost) ?? 0,
      byteCap: find(policy?.byteCap) ?? Infinity,
    };
  }

  private clearTimers(): void {
    if (this.ackTimer) clearTimeout(this.ackTimer);
    if (this.detachTimer) clearTimeout(this.detachTimer);
    if (this.checkTimer) clearTimeout(this.checkTimer);
    if (this.statsTimer) clearInterval(this.statsTimer);
    if (this.quietTimer) clearTimeout(this.quietTimer);
    this.quietTimer = undefined;
    this.ackTimer = undefined;
    this.detachTimer = undefined;
    this.checkTimer = undefined;
    this.statsTimer = undefined;
    for (const rx of this.receipts.values()) if (rx.timer) clearTimeout(rx.timer);
    this.receipts.clear();
  }

  private noteAckSent(ack: number, window: number): void {
    this.lastAckSent = ack;
    this.lastWindowSent = window;
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
  }

  /**
   * A lone acknowledgment (window update, FIN, delayed ack) goes on every open flowpath:
   * they are rare, and one sent only on a path that has just stalled could leave a peer
   * that waits for our window waiting until that path is declared dead.
   */
  private sendAck(): void {
    const ack = this.received;
    const window = this.receiveWindow;
    let sent = false;
    for (const path of this.flowpaths.values()) {
      if (path.state !== 'open') continue;
      path.send({ type: 'ack', ack, window });
      const rx = this.receipts.get(path);
      if (rx) rx.acked = ack;
      sent = true;
    }
    if (sent) this.noteAckSent(ack, window);
  }

  /** Acknowledgments only free the output buffer, so they go out sparingly. */
  private scheduleAck(): void {
    const unacked = this.received - this.lastAckSent;
    if (unacked <= 0) return;
    if (unacked >= this.opts.inputBufferBytes / ACK_EVERY_FRACTION || this.remoteFinDelivered) {
      this.sendAck();
      return;
    }
    if (!this.ackTimer) {
      this.ackTimer = setTimeout(() => {
        this.ackTimer = undefined;
        this.sendAck();
      }, this.opts.ackDelayMs);
    }
  }

  /**
   * Reports what arrived on one flowpath (PATH_ACK): the sender's per-path delivery signal.
   * With several flowpaths it goes out every 16 KiB or 5 ms; with one, rarely.
   */
  private notePathBytes(path: Flowpath, bytes: number): void {
    const rx = this.receipts.get(path);
    if (!rx) return;
    rx.received += bytes;
    this.noteArrival();
    const threshold = this.flowpaths.size > 1 ? PATH_ACK_BYTES_MULTI : PATH_ACK_BYTES_SINGLE;
    if (rx.received - rx.reported >= threshold) this.sendPathAck(path, rx);
    else if (!rx.timer) {
      rx.timer = setTimeout(() => {
        rx.timer = undefined;
        this.sendPathAck(path, rx);
      }, PATH_ACK_DELAY_MS);
      rx.timer.unref();
    }
  }

  private sendPathAck(path: Flowpath, rx: PathReceipt): void {
    if (rx.timer) clearTimeout(rx.timer);
    rx.timer = undefined;
    if (path.state !== 'open' || rx.received === rx.reported) return;
    const ack = this.received;
    const window = this.receiveWindow;
    path.send({ type: 'path-ack', ack, window, pathReceived: rx.received });
    rx.reported = rx.received;
    rx.acked = ack;
    this.noteAckSent(ack, window);
  }

  /** Data arrived: once the flowpaths go quiet, every one learns our acknowledgment. */
  private noteArrival(): void {
    // One flowpath (the hot case): nothing to watch, and no clock read per frame.
    if (!this.quietTimer && this.flowpaths.size < 2) return;
    this.lastArrivalAt = performance.now();
    if (this.quietTimer) return;
    const check = () => {
      const idle = performance.now() - this.lastArrivalAt;
      if (idle < QUIET_ACK_MS) {
        this.quietTimer = setTimeout(check, QUIET_ACK_MS - idle);
        this.quietTimer.unref();
        return;
      }
      this.quietTimer = undefined;
      const ack = this.received;
      for (const [path, rx] of this.receipts) {
        if (path.state !== 'open' || rx.acked >= ack) continue;
        path.send({ type: 'ack', ack, window: this.receiveWindow });
        rx.acked = ack;
      }
    };
    this.quietTimer = setTimeout(check, QUIET_ACK_MS);
    this.quietTimer.unref();
  }

  /**
   * The peer has everything before `ack` and may take bytes up to ack + window. Returns
   * whether that changed what the sender may do (the ack or the window edge moved).
   */
  private acknowledge(ack: number, window: number): boolean {
    if (this.localFinSeq !== undefined && ack === this.localFinSeq + 1) {
      this.output.ack(this.localFinSeq);
      if (!this.finAcked) {
        this.finAcked = true;
        const done = this.pendingFinal;
        this.pendingFinal = undefined;
        done?.();
      }
    } else {
      this.output.ack(ack);
    }
    let changed = false;
    if (ack + window > this.peerWindowEdge) {
      this.peerWindowEdge = ack + window;
      changed = true;
    }
    if (ack > this.peerAck) {
      this.peerAck = ack;
      this.sender.onAck(ack);
      changed = true;
    }
    if (this.pendingWrite && !this.output.full) {
      const resume = this.pendingWrite;
      this.pendingWrite = undefined;
      resume();
    }
    this.checkDone();
    return changed;
  }

  // ---- receiving ---------------------------------------------------------------------------

  private onFrame(path: Flowpath, frame: Frame): void {
    try {
      switch (frame.type) {
        case 'data': {
          // A one-way stream's DATA carries the same ack each time: no reason to pump.
          const changed = this.acknowledge(frame.ack, frame.window);
          this.notePathBytes(path, frame.payload.length + (frame.fin ? 1 : 0));
          this.onData(frame.seq, frame.payload, frame.fin);
          if (changed) this.pump();
          break;
        }
        case 'ack':
          this.peerConfirmed = true;
          this.acknowledge(frame.ack, frame.window);
          this.pump();
          break;
        case 'path-ack':
          this.peerConfirmed = true;
          this.acknowledge(frame.ack, frame.window);
          this.sender.onPathAck(path.pathId, frame.pathReceived);
          this.pump();
          break;
        case 'addresses':
          if (this.role === 'client') this.emit('peer-addresses', frame.addresses as Addr[]);
          break;
        case 'path-status':
          if (this.role !== 'server')
            throw new RoamError('ROAM_PROTOCOL', 'PATH_STATUS is sent by the client only');
          this.peerConfirmed = true;
          this.onPathStatus(frame);
          break;
        case 'error':
          rootLogger().warn(
            { session: this.id, code: frame.code, reason: frame.reason },
            'peer closed a flowpath with an error',
          );
          path.close(`peer error ${frame.code}: ${frame.reason}`);
          if (frame.code === ErrorCode.CLOSED || frame.code === ErrorCode.RESET)
            this.onPeerDestroyed(frame.code === ErrorCode.RESET, frame.reason);
          break;
        default:
          path.fail(`unexpected ${frame.type} frame`, {
            code: ErrorCode.PROTOCOL,
            reason: `unexpected ${frame.type} frame`,
          });
      }
    } catch (err) {
      // fail() logs the violation with the flowpath's address.
      const code = err instanceof RoamError ? err.code : 'ROAM_PROTOCOL';
      path.fail(`protocol violation ${code}`, {
        code: ErrorCode.PROTOCOL,
        reason: (err as Error).message.slice(0, 200),
      });
    }
  }

  private onData(seq: number, payload: Buffer, fin: boolean): void {
    // Every window we advertise ends at or before what the application consumed plus the
    // input buffer: a peer that sends past it is refused, so unread data stays bounded.
    const consumed = this.input.nextSeq - this.readableLength;
    if (seq + payload.length > consumed + this.opts.inputBufferBytes) {
      throw new RoamError(
        'ROAM_PROTOCOL',
        `peer sent past the receive window: up to ${seq + payload.length}, window ends at ${consumed + this.opts.inputBufferBytes}`,
      );
    }
    if (payload.length > 0) {
      for (const piece of this.input.insert(seq, payload)) this.push(piece);
    }
    if (fin) {
      const finSeq = seq + payload.length;
      if (this.remoteFinSeq !== undefined && this.remoteFinSeq !== finSeq) {
        throw new RoamError(
          'ROAM_PROTOCOL',
          `peer moved its FIN from ${this.remoteFinSeq} to ${finSeq}`,
        );
      }
      this.remoteFinSeq = finSeq;
    }
    if (
      this.remoteFinSeq !== undefined &&
      !this.remoteFinDelivered &&
      this.input.nextSeq === this.remoteFinSeq
    ) {
      this.remoteFinDelivered = true;
      this.push(null);
    }
    this.scheduleAck();
    this.checkDone();
  }

  /**
   * The peer destroyed its session. As with TCP: if it read all we sent and we hold all it
   * sent, that is an orderly end ('end', then 'close'); if bytes are lost either way, a reset.
   */
  private onPeerDestroyed(reset: boolean, reason: string): void {
    if (this.state === 'closed') return;
    const weLostNothing = this.peerAck >= this.output.endSeq && this.input.buffered === 0;
    if (reset || !weLostNothing) {
      this.destroy(new RoamError('ROAM_SESSION_RESET', `peer closed the session: ${reason}`));
      return;
    }
    this.state = 'closed';
    this.peerGone = true;
    this.clearTimers();
    for (const path of this.flowpaths.values()) path.close('the peer closed the session');
    this.flowpaths.clear();
    if (!this.remoteFinDelivered) {
      this.remoteFinDelivered = true;
      this.push(null);
    }
    // Nothing more can reach the peer: our side ends too (net's default), and the stream
    // closes once the application has read what is buffered ('end', 'finish', autoDestroy).
    const pending = this.pendingFinal;
    this.pendingFinal = undefined;
    pending?.();
    this.end();
  }

  // ---- paths and lifetime ------------------------------------------------------------------

  private onPathClosed(path: Flowpath, reason: string): void {
    const info = this.pathInfo(path);
    const rx = this.receipts.get(path);
    if (rx?.timer) clearTimeout(rx.timer);
    this.receipts.delete(path);
    const current = this.flowpaths.get(path.pathId) === path;
    if (current) {
      this.flowpaths.delete(path.pathId);
      this.sender.removePath(path.pathId, this.peerAck);
      this.announced.forget(path.pathId);
      if (this.peerRoles.get(path.pathId)) {
        this.peerRoles.forget(path.pathId);
        if (this.state !== 'closed') this.followPeerRoles();
      }
    }
    if (this.state === 'closed') return;
    this.emit('path-down', info, reason);
    const open = [...this.flowpaths.values()].filter((p) => p.state === 'open');
    // Whatever acknowledgment or window update went out on it may be lost: say it again,
    // before PATH_STATUS, so the peer re-sends from what we have.
    if (open.length > 0) this.sendAck();
    if (this.role === 'client' && current && !this.droppingAll) {
      // The server may not learn of the close from TCP (no FIN leaves an address that
      // vanished): tell it on every surviving flowpath, so that it re-sends what was in
      // flight on this one now instead of when its sender suspects the path.
      const frame = this.announced.removed(path.pathId);
      for (const p of open) p.send(frame);
    }
    if (open.length > 0) {
      this.pump();
      return;
    }
    if (this.state !== 'open') return;
    this.state = 'detached';
    this.detachedAt = performance.now();
    this.emit('migrating', { reason });
    this.detachTimer = setTimeout(() => {
      this.destroy(
        new RoamError(
          'ROAM_SESSION_EXPIRED',
          `session ${this.id} had no flowpath for ${this.opts.detachTimeoutMs} ms and expired`,
        ),
      );
    }, this.opts.detachTimeoutMs);
    this.detachTimer.unref();
  }

  private checkDone(): void {
    if (this.state === 'closed' || !this.finAcked || !this.remoteFinDelivered) return;
    // Our FIN is acknowledged and the peer's is delivered (and acknowledged just now):
    // both directions are complete. Free the transport now; the stream itself ends when the
    // application has read what is still buffered (autoDestroy after 'end' and 'finish').
    this.sendAck();
    this.state = 'closed';
    this.clearTimers();
    const paths = [...this.flowpaths.values()];
    this.flowpaths.clear();
    setImmediate(() => {
      for (const path of paths) path.close('session complete', 1000);
    });
  }
}
