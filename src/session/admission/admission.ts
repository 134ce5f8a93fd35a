import { EventEmitter } from 'node:events';
import { rootLogger } from '../../log/logger.js';
import { ErrorCode } from '../../wire/index.js';
import { CookieJar } from './cookie.js';
import type { ResolvedAdmissionOptions } from './options.js';
import { Pressure } from './pressure.js';
import { sourceKey } from './source.js';
import { AdmissionTable, type Victim } from './table.js';

/**
 * Admission control for a session server (issue 11): which connections may handshake, which
 * HELLOs of new sessions get a session, a cookie or a refusal, and which sessions leave the
 * table first. The server calls the hooks; everything it decides is here, with the clock
 * passed in, so the relay and the exit can put the same policy in front of their tables.
 */

export type HelloVerdict =
  | { kind: 'admit'; evict?: Victim }
  | { kind: 'cookie'; cookie: Buffer }
  | { kind: 'refuse'; code: number; reason: string };

export type AdmissionReport =
  | { kind: 'pressure'; on: boolean; reason: string }
  | {
      kind: 'evicted';
      id: string;
      source: string;
      standing: 'unconfirmed' | 'detached';
      why: string;
    }
  | { kind: 'source-limit'; source: string; limit: 'handshakes' | 'unconfirmed' | 'detached' }
  | { kind: 'handshakes-full'; source: string; limit: number };

export interface AdmissionCounters {
  /** Pressure is on now (cookies asked for in mode 'auto'). */
  pressure: boolean;
  pressureOn: number;
  cookiesSent: number;
  cookiesAccepted: number;
  cookiesRejected: number;
  /** Sessions ended to make room or to keep a bound. */
  evictedUnconfirmed: number;
  evictedDetached: number;
  /** Never-confirmed sessions ended by unconfirmedTimeoutMs. */
  expiredUnconfirmed: number;
  /** HELLOs refused: the table was full of live sessions. */
  refusedFull: number;
  sourceLimitHandshakes: number;
  sourceLimitUnconfirmed: number;
  sourceLimitDetached: number;
  /** Oldest handshaking connections closed because maxHandshakes were open. */
  handshakesDropped: number;
}

/** One log line per kind per second at most; the others are counted into the next line. */
const LOG_INTERVAL_MS = 1000;

export class Admission extends EventEmitter<{ report: [AdmissionReport] }> {
  readonly counters: AdmissionCounters = {
    pressure: false,
    pressureOn: 0,
    cookiesSent: 0,
    cookiesAccepted: 0,
    cookiesRejected: 0,
    evictedUnconfirmed: 0,
    evictedDetached: 0,
    expiredUnconfirmed: 0,
    refusedFull: 0,
    sourceLimitHandshakes: 0,
    sourceLimitUnconfirmed: 0,
    sourceLimitDetached: 0,
    handshakesDropped: 0,
  };
  private readonly table = new AdmissionTable();
  private readonly jar: CookieJar;
  private readonly pressure: Pressure;
  private readonly handshakes = new Map<string, number>();
  private readonly logged = new Map<string, { at: number; suppressed: number }>();

  constructor(
    readonly options: ResolvedAdmissionOptions,
    private readonly maxSessions: number,
    readonly now: () => number = Date.now,
  ) {
    super();
    this.jar = new CookieJar(options.cookieLifetimeMs);
    this.pressure = new Pressure(options);
  }

  /** The per-source key of an address (what the limits count in). */
  source(address: string | undefined): string {
    return sourceKey(address, this.options.ipv4PrefixLength, this.options.ipv6PrefixLength);
  }

  // ---- connections before HELLO ------------------------------------------------------------

  /**
   * A connection was accepted. False: close it now (its source has maxHandshakesPerSource
   * open). When true, the caller must call handshakeDone(source) once it is past HELLO.
   */
  onConnection(source: string): boolean {
    if (!this.options.enabled) return true;
    const n = this.handshakes.get(source) ?? 0;
    if (n >= this.options.maxHandshakesPerSource) {
      this.counters.sourceLimitHandshakes++;
      this.report({ kind: 'source-limit', source, limit: 'handshakes' });
      return false;
    }
    this.handshakes.set(source, n + 1);
    return true;
  }

  handshakeDone(source: string): void {
    if (!this.options.enabled) return;
    const n = (this.handshakes.get(source) ?? 1) - 1;
    if (n <= 0) this.handshakes.delete(source);
    else this.handshakes.set(source, n);
  }

  /** With `open` connections in handshake, must the oldest be closed for a new one? */
  handshakesOverflow(open: number, source: string): boolean {
    if (!this.options.enabled || open < this.options.maxHandshakes) return false;
    this.counters.handshakesDropped++;
    this.report({ kind: 'handshakes-full', source, limit: this.options.maxHandshakes });
    return true;
  }

  // ---- HELLO of a new session --------------------------------------------------------------

  /**
   * A HELLO mode new from `source`, with the cookie it echoed (if any); `bind` is what the
   * cookie covers of the HELLO (its connId half and nonce), `tableSize` the sessions held.
   */
  onHello(source: string, bind: Buffer, echo: Buffer | undefined, tableSize: number): HelloVerdict {
    if (!this.options.enabled) {
      return tableSize < this.maxSessions
        ? { kind: 'admit' }
        : { kind: 'refuse', code: ErrorCode.LIMIT, reason: 'too many sessions' };
    }
    const now = this.now();
    if (echo === undefined) this.pressure.noteHello(now);
    this.updatePressure(now, tableSize);
    if (echo !== undefined) {
      const verdict = this.jar.check(echo, source, bind, now);
      if (verdict === 'invalid') {
        this.counters.cookiesRejected++;
        return { kind: 'refuse', code: ErrorCode.BAD_PROOF, reason: 'bad cookie' };
      }
      if (verdict === 'expired') return this.cookie(source, bind, now);
      this.counters.cookiesAccepted++;
    } else if (this.cookieNeeded()) {
      return this.cookie(source, bind, now);
    }
    if (this.table.unconfirmedOf(source) >= this.options.maxUnconfirmedPerSource) {
      this.counters.sourceLimitUnconfirmed++;
      this.report({ kind: 'source-limit', source, limit: 'unconfirmed' });
      return {
        kind: 'refuse',
        code: ErrorCode.LIMIT,
        reason: `at most ${this.options.maxUnconfirmedPerSource} unconfirmed sessions per source`,
      };
    }
    if (tableSize < this.maxSessions) return { kind: 'admit' };
    const victim = this.table.victim();
    if (!victim) {
      this.counters.refusedFull++;
      return { kind: 'refuse', code: ErrorCode.LIMIT, reason: 'too many sessions' };
    }
    this.evicted(victim, 'the table is full');
    return { kind: 'admit', evict: victim };
  }

  // ---- the table ---------------------------------------------------------------------------

  sessionAdded(id: string, source: string, confirmed: () => boolean): void {
    if (this.options.enabled) this.table.add(id, source, this.now(), confirmed);
  }

  /** A session lost its last flowpath; returns the sessions to expire to keep the bounds. */
  sessionDetached(id: string): Victim[] {
    if (!this.options.enabled) return [];
    this.table.detach(id, this.now());
    const source = this.table.sourceOf(id);
    const out: Victim[] = [];
    if (source !== undefined) {
      const over = this.table.detachedOf(source) - this.options.maxDetachedPerSource;
      if (over > 0) {
        this.counters.sourceLimitDetached++;
        this.report({ kind: 'source-limit', source, limit: 'detached' });
        for (const v of this.table.longestDetached(over, source)) {
          this.evicted(
            v,
            `its source has more than ${this.options.maxDetachedPerSource} detached sessions`,
          );
          out.push(v);
        }
      }
    }
    let over = this.table.detachedCount - out.length - this.options.maxDetached;
    if (over > 0) {
      const taken = new Set(out.map((v) => v.id));
      for (const v of this.table.longestDetached(over + out.length)) {
        if (over === 0) break;
        if (taken.has(v.id)) continue;
        this.evicted(v, `more than ${this.options.maxDetached} detached sessions`);
        out.push(v);
        over--;
      }
    }
    return out;
  }

  sessionAttached(id: string): void {
    if (this.options.enabled) this.table.attach(id);
  }

  sessionRemoved(id: string): void {
    if (this.options.enabled) this.table.remove(id);
  }

  /** Never-confirmed sessions past unconfirmedTimeoutMs: the caller ends them. */
  overdue(tableSize: number): Victim[] {
    if (!this.options.enabled) return [];
    const now = this.now();
    this.updatePressure(now, tableSize);
    const out = this.table.overdue(now, this.options.unconfirmedTimeoutMs);
    for (const v of out) {
      this.counters.expiredUnconfirmed++;
      this.report({
        kind: 'evicted',
        id: v.id,
        source: v.source,
        standing: 'unconfirmed',
        why: `not confirmed within ${this.options.unconfirmedTimeoutMs} ms`,
      });
    }
    return out;
  }

  get unconfirmedCount(): number {
    return this.table.unconfirmedCount;
  }

  get detachedCount(): number {
    return this.table.detachedCount;
  }

  // ---- inside ------------------------------------------------------------------------------

  private cookieNeeded(): boolean {
    if (this.options.cookie === 'always') return true;
    return this.options.cookie === 'auto' && this.pressure.state === 'pressed';
  }

  private cookie(source: string, bind: Buffer, now: number): HelloVerdict {
    this.counters.cookiesSent++;
    return { kind: 'cookie', cookie: this.jar.mint(source, bind, now) };
  }

  private updatePressure(now: number, tableSize: number): void {
    const change = this.pressure.update(now, tableSize / this.maxSessions);
    if (!change) return;
    const on = change.state === 'pressed';
    this.counters.pressure = on;
    if (on) this.counters.pressureOn++;
    this.report({ kind: 'pressure', on, reason: change.reason });
  }

  private evicted(v: Victim, why: string): void {
    if (v.standing === 'unconfirmed') this.counters.evictedUnconfirmed++;
    else this.counters.evictedDetached++;
    this.report({ kind: 'evicted', id: v.id, source: v.source, standing: v.standing, why });
  }

  /** The event, and a log line (at most one per kind per second, with what it left out). */
  private report(r: AdmissionReport): void {
    this.emit('report', r);
    const key = r.kind === 'source-limit' ? `source-limit ${r.limit}` : r.kind;
    const now = this.now();
    const last = this.logged.get(key);
    if (r.kind !== 'pressure' && last && now - last.at < LOG_INTERVAL_MS) {
      last.suppressed++;
      return;
    }
    this.logged.set(key, { at: now, suppressed: 0 });
    const suppressed = last?.suppressed ?? 0;
    const fields = { ...r, ...(suppressed > 0 ? { alsoInLastSecond: suppressed } : {}) };
    const log = rootLogger();
    switch (r.kind) {
      case 'pressure':
        log.warn(
          fields,
          r.on
            ? 'admission: under pressure, new sessions need a cookie'
            : 'admission: pressure over',
        );
        break;
      case 'evicted':
        log.info(fields, `admission: evicted a ${r.standing} session`);
        break;
      case 'source-limit':
        log.warn(fields, `admission: a source hit its ${r.limit} limit`);
        break;
      case 'handshakes-full':
        log.warn(fields, 'admission: too many connections in handshake; closed the oldest');
        break;
    }
  }
}
