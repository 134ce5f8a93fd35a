import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { RoamError } from '../../errors.js';
import { ErrorCode, type HelloFrame } from '../../wire/index.js';
import type { Flowpath } from '../flowpath.js';
import type { Session } from '../session.js';
import { Admission, type AdmissionCounters, type AdmissionReport } from './admission.js';
import { awaitEcho } from './echo.js';
import { resolveAdmissionOptions } from './options.js';
import { UnconfirmedSweeper } from './sweeper.js';

export type AdmissionSnapshot = AdmissionCounters &
  Record<'sessions' | 'unconfirmed' | 'detached' | 'handshaking', number>;

/**
 * Admission in front of a session table, in the terms of the server's hooks: a connection
 * accepted, a HELLO new, a session made. It owns the eviction of sessions (ROAM_SESSION_
 * EXPIRED at their application, so an attach to them hears EXPIRED) and the sweep of
 * never-confirmed ones. The relay and the exit put one in front of their tables the same way.
 */
export class AdmissionGate extends EventEmitter<{ report: [AdmissionReport] }> {
  readonly admission: Admission;
  private readonly sweeper: UnconfirmedSweeper;
  private readonly sessions = new Map<string, Session>();
  /** Evicted, their 'close' not come yet (a stream closes on the next tick). */
  private readonly evicting = new Set<string>();

  constructor(
    options: unknown,
    private readonly maxSessions: number,
    now: () => number = Date.now,
  ) {
    super();
    this.admission = new Admission(resolveAdmissionOptions(options, maxSessions), maxSessions, now);
    this.admission.on('report', (r) => this.emit('report', r));
    this.sweeper = new UnconfirmedSweeper(
      this.admission,
      () => this.sessions.size,
      (v) => this.evict(v.id, 'it never confirmed WELCOME'),
    );
  }

  /**
   * A connection was accepted, with `handshaking` those already in handshake (oldest first).
   * Returns its source, or undefined when it was closed; once it is past its handshake the
   * caller calls handshakeDone(source).
   */
  accept(socket: Socket, handshaking: Set<Socket>): string | undefined {
    const source = this.admission.source(socket.remoteAddress);
    if (!this.admission.onConnection(source)) {
      socket.destroy();
      return undefined;
    }
    if (this.admission.handshakesOverflow(handshaking.size, source))
      handshaking.values().next().value?.destroy();
    return source;
  }

  handshakeDone(source: string): void {
    this.admission.handshakeDone(source);
  }

  /**
   * A HELLO new on `path`: resolves with the HELLO to make a session of (the first one, or
   * the one after a valid cookie echo), having evicted a session for it if the table was
   * full; undefined when the flowpath was refused (ERROR sent, closed). After a COOKIE the
   * same flowpath brings the echo and the HELLO again; a cookie that expired on the way gets
   * one fresh one, no more.
   */
  async admitNew(
    path: Flowpath,
    first: HelloFrame,
    source: string,
    tableSize: number,
    echoTimeoutMs: number,
  ): Promise<HelloFrame | undefined> {
    let hello = first;
    let echo: Buffer | undefined;
    for (let round = 0; ; round++) {
      const bind = Buffer.concat([hello.connId.subarray(0, 8), hello.nonce]);
      const size = (round === 0 ? tableSize : this.sessions.size) - this.evicting.size;
      const verdict = this.admission.onHello(source, bind, echo, size);
      if (verdict.kind === 'admit') {
        if (verdict.evict) this.evict(verdict.evict.id, 'the table is full');
        return hello;
      }
      if (verdict.kind === 'refuse' || round >= 2) {
        const reason = verdict.kind === 'refuse' ? verdict.reason : 'cookie not echoed in time';
        const code = verdict.kind === 'refuse' ? verdict.code : ErrorCode.LIMIT;
        path.fail(`new session refused: ${reason}`, { code, reason });
        return undefined;
      }
      path.send({ type: 'cookie', cookie: verdict.cookie });
      const echoed = await awaitEcho(path, echoTimeoutMs);
      if (echoed.hello.mode !== 'new' || !echoed.hello.nonce.equals(hello.nonce)) {
        path.fail('cookie echo with another HELLO', {
          code: ErrorCode.PROTOCOL,
          reason: 'the HELLO after a cookie echo must be the first one again',
        });
        return undefined;
      }
      hello = echoed.hello;
      echo = echoed.cookie;
    }
  }

  /** A session entered the table: follow its standing until it closes. */
  track(session: Session, source: string): void {
    if (!this.admission.options.enabled) return;
    const id = session.id;
    this.sessions.set(id, session);
    this.admission.sessionAdded(id, source, () => session.peerConfirmed);
    this.sweeper.arm();
    session.on('path-up', () => this.admission.sessionAttached(id));
    session.on('migrating', () => {
      for (const v of this.admission.sessionDetached(id)) this.evict(v.id, 'a detached bound');
    });
    session.once('close', () => {
      this.sessions.delete(id);
      this.evicting.delete(id);
      this.admission.sessionRemoved(id);
    });
  }

  /** Sessions of the table on their way out: they no longer count against maxSessions. */
  get leaving(): number {
    return this.evicting.size;
  }

  snapshot(handshaking: number): AdmissionSnapshot {
    return {
      ...this.admission.counters,
      sessions: this.sessions.size,
      unconfirmed: this.admission.unconfirmedCount,
      detached: this.admission.detachedCount,
      handshaking,
    };
  }

  private evict(id: string, why: string): void {
    const session = this.sessions.get(id);
    if (!session || this.evicting.has(id)) return;
    this.evicting.add(id);
    // Out of the table at once, so that the next choice picks another victim.
    this.admission.sessionRemoved(id);
    session.destroy(new RoamError('ROAM_SESSION_EXPIRED', `session ${id} evicted: ${why}`));
  }
}
