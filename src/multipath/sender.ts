import type { SendBuffer } from '../stream/send-buffer.js';
import { PathLedger, type SentRange } from './path-ledger.js';
import { RateEstimator } from './rate-estimator.js';
import { ResendQueue } from './resend-queue.js';
import { arrival, type PathView, type Scheduler } from './scheduler.js';

/**
 * The sending half of a multipath session: which bytes of the output buffer go on which
 * flowpath. It keeps, per flowpath, a ledger of what it carries and a delivery-rate
 * estimate from the peer's PATH_ACKs; a queue of ranges to send again (from flowpaths that
 * died or stalled); and asks the scheduler where each chunk goes.
 *
 * - Flow control across paths (msocket §III-C): nothing is sent at or past the peer's
 *   window edge, so s − a ≤ b: the receiver's reordering buffer can never deadlock.
 * - Per-path queues kept full but not overfull: with two or more paths open (a suspect one
 *   included), or one left with a failed path's bytes to re-send, a path takes data only
 *   while its bytes in flight are under rate × (lowest RTT + queueMs) + 32 KiB, so a slow
 *   path never holds seconds of data the fast one then waits for, and bytes re-sent after a
 *   failure do not queue long behind it. Re-sent bytes go first, in small frames.
 * - When waiting on a slow path (nothing new to send, or the window is full), a path that
 *   would deliver sooner re-sends the slow path's oldest range, once (reinjection).
 * - A path with bytes in flight and no delivery for max(suspectFloorMs, 2 × RTT + 40 ms)
 *   while another path is alive is suspect: its bytes are re-sent elsewhere and it gets no
 *   new data until it has delivered everything it held (or it dies).
 */
export interface SenderPath {
  readonly id: number;
  /** The socket takes more now (it is open and below its high-water mark). */
  writable(): boolean;
  open(): boolean;
  sendData(seq: number, payload: Buffer, fin: boolean): void;
  cork(): void;
  uncork(): void;
  /** Lowest RTT seen, ms. */
  minRttMs(): number | undefined;
  /** Moving average of recent RTT samples, ms (best-path's score). */
  rttAvgMs(): number | undefined;
  /** Backup policy of this path. */
  policy(): { preferred: boolean; cost: number; byteCap: number };
}

export interface SenderOptions {
  maxFrameBytes: number;
  /** Chunk size when striping over several paths. Default 64 KiB. */
  chunkBytes?: number;
  /** Queue allowed on each path beyond 2 × RTT, in ms of its rate. Default 25. */
  queueMs?: number;
  /** Shortest silence that makes a path with bytes in flight suspect. Default 200. */
  suspectFloorMs?: number;
  now: () => number;
}

export interface SenderPathStats {
  sentBytes: number;
  deliveredBytes: number;
  inflightBytes: number;
  /** Bytes this path carried that had to be re-sent elsewhere (it died or stalled). */
  lostBytes: number;
  rateBytesPerSec: number | undefined;
  capBytes: number;
  suspect: boolean;
}

interface PathState {
  link: SenderPath;
  ledger: PathLedger;
  rate: RateEstimator;
  suspect: boolean;
  /** While suspect: the path is healthy again once it delivered this many bytes. */
  recoverAt: number;
  /** Last delivery, or when bytes went in flight after none were. */
  progressAt: number;
  lost: number;
  policy: { preferred: boolean; cost: number; byteCap: number };
  /** Redundant scheduling: this path's position in the stream. */
  cursor: number;
  /** This pump: the socket was writable when it began, bytes queued since. */
  startWritable: boolean;
  batch: number;
  corked: boolean;
}

/**
 * Bytes a path with no measurement yet may hold in flight, and its first rate guess per RTT
 * (msocket: small chunks in proportion to 1/RTT until estimates exist). About what a new TCP
 * connection delivers in its first round trips of slow start: a path that joins a short
 * transfer late gets no more than it can deliver before the others finish.
 */
const INITIAL_CAP = 64 * 1024;
const CAP_FLOOR = 64 * 1024;
/** Slack for the peer's report granularity (it reports every 16 KiB or 5 ms). */
const CAP_SLACK = 32 * 1024;
/** A batch may pass a socket's high-water mark by this much (one writev of several frames). */
const PUMP_BATCH_BYTES = 1024 * 1024;
const DEFAULT_RTT_MS = 100;
/**
 * Re-sent bytes go in frames this small: the receiver delivers no byte of a frame before all
 * of it arrived, and the first one should fit in a TCP initial window (10 segments, about
 * 14 KB; a path that idled restarts from there), so the gap starts closing one trip after
 * the re-send.
 */
const RESEND_CHUNK = 8 * 1024;
/** Bytes a path delivers before its measured rate alone is trusted (see #rate). */
const TRUSTED_AFTER = 4 * INITIAL_CAP;
/** The chunk a slower path is offered when a whole one would arrive too late. */
const SMALL_CHUNK = 16 * 1024;
/** In-flight cap: rate × (CAP_GAIN × lowest RTT + queueMs). */
const CAP_GAIN = 1;

export class MultipathSender {
  readonly output: SendBuffer;
  scheduler: Scheduler;
  /** The first byte never sent on any path (s in msocket). */
  sendNext = 0;
  readonly #paths = new Map<number, PathState>();
  readonly #resend = new ResendQueue();
  readonly #o: Required<SenderOptions>;
  /** Called when a path turns suspect or healthy again. */
  onSuspect: (id: number, suspect: boolean) => void = () => undefined;
  /**
   * More paths are coming: a lone path gets only its cap in flight, as with several, and
   * the rest waits in the output buffer for them instead of queueing behind the first.
   */
  holdBack = false;

  constructor(output: SendBuffer, scheduler: Scheduler, opts: SenderOptions) {
    this.output = output;
    this.scheduler = scheduler;
    this.#o = { chunkBytes: 64 * 1024, queueMs: 25, suspectFloorMs: 200, ...opts };
  }

  get pathCount(): number {
    return this.#paths.size;
  }

  addPath(link: SenderPath, ack: number): void {
    this.#paths.set(link.id, {
      link,
      ledger: new PathLedger(),
      rate: new RateEstimator(),
      suspect: false,
      recoverAt: 0,
      progressAt: this.#o.now(),
      lost: 0,
      policy: link.policy(),
      cursor: ack,
      startWritable: false,
      batch: 0,
      corked: false,
    });
  }

  /** A path is gone: what it held and the peer lacks is sent again on the others. */
  removePath(id: number, ack: number): void {
    const st = this.#paths.get(id);
    if (!st) return;
    this.#paths.delete(id);
    if (!st.suspect) this.#requeue(st, ack);
    this.#unsuspectIfAlone();
  }

  /** The policy (preferred, cost, byte cap) of the paths changed: read it again. */
  refreshPolicies(): void {
    for (const st of this.#paths.values()) st.policy = st.link.policy();
  }

  /** Resuming with no path left: send everything from `seq` (what the peer has) again. */
  reset(seq: number): void {
    this.#resend.clear();
    this.sendNext = seq;
    for (const st of this.#paths.values()) st.cursor = seq;
  }

  /** The cumulative acknowledgment moved. */
  onAck(ack: number): void {
    if (this.sendNext < ack) this.sendNext = ack;
    this.#resend.trim(ack);
  }

  /** The peer received `pathReceived` bytes on path `id` (PATH_ACK). Throws on a lie. */
  onPathAck(id: number, pathReceived: number): void {
    const st = this.#paths.get(id);
    if (!st) return;
    const now = this.#o.now();
    if (st.ledger.deliver(pathReceived) > 0) {
      st.progressAt = now;
      // Measured over two RTTs at least: a burst of reports after a TCP loss is not a rate.
      st.rate.onDelivered(st.ledger.delivered, now, 2 * (st.link.minRttMs() ?? 0));
    }
    if (st.suspect && st.ledger.delivered >= st.recoverAt) {
      st.suspect = false;
      this.onSuspect(id, false);
    }
  }

  stats(id: number): SenderPathStats | undefined {
    const st = this.#paths.get(id);
    if (!st) return undefined;
    const now = this.#o.now();
    const rate = st.rate.rate(now);
    return {
      sentBytes: st.ledger.sent,
      deliveredBytes: st.ledger.delivered,
      inflightBytes: st.ledger.inflight,
      lostBytes: st.lost,
      rateBytesPerSec: rate === undefined ? undefined : rate * 1000,
      capBytes: this.#cap(st, now),
      suspect: st.suspect,
    };
  }

  /**
   * When check() next has something to decide: ms until a healthy path with bytes in flight
   * would turn suspect (0: now), Infinity when none has any. Changes nothing, so a caller
   * can arm its timer with it and leave the decision, and the pump after it, to that timer.
   */
  nextCheckMs(): number {
    const now = this.#o.now();
    const healthy = this.#healthy();
    // A lone healthy path is never suspect (there is nowhere to move its bytes): nothing to
    // decide until another recovers, and that comes with a PATH_ACK, which pumps.
    if (healthy.length < 2) return Infinity;
    let next = Infinity;
    for (const st of healthy)
      if (st.ledger.inflight > 0) next = Math.min(next, Math.max(0, this.#dueIn(st, now)));
    return next;
  }

  /**
   * Turns stalled paths suspect; returns ms until the next look is due (Infinity: nothing
   * to decide). A path it turns suspect has its bytes queued for the others: the caller
   * must pump after it.
   */
  check(ack: number): number {
    const now = this.#o.now();
    const healthy = this.#healthy();
    for (const st of healthy) {
      if (st.ledger.inflight === 0 || this.#dueIn(st, now) > 0) continue;
      if (!healthy.some((o) => o !== st && !o.suspect)) continue;
      st.suspect = true;
      st.recoverAt = st.ledger.sent;
      this.#requeue(st, ack);
      this.onSuspect(st.link.id, true);
    }
    return Math.max(1, this.nextCheckMs());
  }

  #healthy(): PathState[] {
    return [...this.#paths.values()].filter((s) => !s.suspect && s.link.open());
  }

  /** Ms until `st`, with bytes in flight, has been silent long enough to be suspect. */
  #dueIn(st: PathState, now: number): number {
    return this.#suspectAfter(st) - (now - st.progressAt);
  }

  /**
   * Sends what the window, the paths and the scheduler allow. `ack` is the peer's
   * cumulative acknowledgment, `windowEdge` the first byte it does not take yet, `finSeq`
   * our FIN's sequence number once end() was called.
   */
  pump(ack: number, windowEdge: number, finSeq: number | undefined): void {
    const now = this.#o.now();
    for (const st of this.#paths.values()) {
      st.startWritable = st.link.writable();
      st.batch = 0;
    }
    try {
      if (this.scheduler.redundant) this.#pumpRedundant(ack, windowEdge, finSeq, now);
      else if (this.#paths.size === 1 && !this.#capped())
        this.#pumpSingle(ack, windowEdge, finSeq, now);
      else this.#pumpShared(ack, windowEdge, finSeq, now);
    } finally {
      for (const st of this.#paths.values()) {
        if (st.corked) st.link.uncork();
        st.corked = false;
      }
    }
  }

  /** One flowpath: no choice to make, so none of the snapshots (the common, hot case). */
  #pumpSingle(ack: number, windowEdge: number, finSeq: number | undefined, now: number): void {
    const st = this.#paths.values().next().value as PathState;
    this.#resend.trim(ack);
    const limit = Math.min(this.output.endSeq, windowEdge);
    const max = this.#o.maxFrameBytes;
    for (let guard = 0; guard < 100_000; guard++) {
      if (!this.#ready(st, false, now)) return;
      const again = this.#resend.empty ? undefined : this.#resend.take(RESEND_CHUNK);
      if (again) this.#sendRange(st, again.seq, again.end, finSeq, now);
      else if (this.sendNext < limit) {
        const end = Math.min(limit, this.sendNext + max);
        this.#sendRange(st, this.sendNext, end, finSeq, now);
        this.sendNext = end;
      } else if (finSeq !== undefined && this.sendNext === finSeq) {
        this.#sendRange(st, finSeq, finSeq + 1, finSeq, now);
        this.sendNext = finSeq + 1;
      } else return;
    }
  }

  #pumpShared(ack: number, windowEdge: number, finSeq: number | undefined, now: number): void {
    this.#resend.trim(ack);
    const limit = Math.min(this.output.endSeq, windowEdge);
    if (
      this.#resend.empty &&
      this.sendNext >= limit &&
      !(finSeq !== undefined && this.sendNext === finSeq)
    ) {
      if (this.scheduler.reinjects && this.#paths.size > 1) this.#reinject(ack, finSeq, now);
      return;
    }
    // One snapshot per pump; the view of the path just used is refreshed after each send.
    const views = this.#views(now);
    const multi = this.#capped();
    const chunk = multi
      ? Math.min(this.#o.chunkBytes, this.#o.maxFrameBytes)
      : this.#o.maxFrameBytes;
    let resendBytes = this.#resend.bytes;
    for (let guard = 0; guard < 100_000; guard++) {
      const fresh = Math.max(0, limit - this.sendNext);
      const finPending = finSeq !== undefined && this.sendNext === finSeq;
      const backlog = resendBytes + fresh + (finPending ? 1 : 0);
      if (backlog === 0) break;
      let want = chunk;
      let id = this.scheduler.pick(views, Math.min(want, backlog), backlog, now);
      if (id === undefined && multi && want > SMALL_CHUNK) {
        // No path delivers a whole chunk in time; a slower one may still carry a small one
        // before the faster ones are done (msocket: small chunks while estimates are low).
        want = SMALL_CHUNK;
        id = this.scheduler.pick(views, Math.min(want, backlog), backlog, now);
      }
      const st = id === undefined ? undefined : this.#paths.get(id);
      if (!st) break;
      const view = views.find((v) => v.id === id) as PathView;
      const size = Math.max(1, Math.floor(Math.min(want, multi ? view.cap - view.inflight : want)));
      // Resent bytes fill the receiver's gap: small pieces, so the first arrives soonest.
      const again = resendBytes > 0 ? this.#resend.take(Math.min(size, RESEND_CHUNK)) : undefined;
      if (again) {
        resendBytes -= again.end - again.seq;
        this.#sendRange(st, again.seq, again.end, finSeq, now);
      } else if (fresh > 0) {
        const end = this.sendNext + Math.min(size, fresh);
        this.#sendRange(st, this.sendNext, end, finSeq, now);
        this.sendNext = end;
      } else if (finPending && finSeq !== undefined) {
        this.#sendRange(st, finSeq, finSeq + 1, finSeq, now);
        this.sendNext = finSeq + 1;
      }
      view.inflight = st.ledger.inflight;
      view.ready = this.#ready(st, multi, now);
    }
    if (this.scheduler.reinjects && this.#paths.size > 1) this.#reinject(ack, finSeq, now);
  }

  /**
   * msocket's retransmission from slow paths to fast ones: when nothing new can be sent (all
   * of it is scheduled, or the window is full), a ready path that would deliver a slower
   * path's oldest range sooner than that path will sends a copy of it, once.
   */
  #reinject(ack: number, finSeq: number | undefined, now: number): void {
    const views = this.#views(now);
    if (views.filter((v) => v.alive).length < 2) return;
    for (let guard = 0; guard < 1000; guard++) {
      let best: { from: PathState; range: SentRange; due: number } | undefined;
      for (const st of this.#paths.values()) {
        const v = views.find((x) => x.id === st.link.id);
        if (!v || st.ledger.inflight === 0) continue;
        for (const r of st.ledger.outstanding(ack)) {
          if (r.reinjected) continue;
          const due = (r.pathEnd - st.ledger.delivered) / v.rate + v.owdMs;
          if (!best || r.seq < best.range.seq) best = { from: st, range: r, due };
          break;
        }
      }
      if (!best) return;
      const bytes = best.range.end - Math.max(best.range.seq, ack);
      let target: PathView | undefined;
      for (const v of views) {
        if (!v.ready || v.id === best.from.link.id) continue;
        if (this.scheduler.mayReinjectOn && !this.scheduler.mayReinjectOn(v, views)) continue;
        if (arrival(v, bytes) < best.due && (!target || arrival(v, bytes) < arrival(target, bytes)))
          target = v;
      }
      if (!target) return;
      const st = this.#paths.get(target.id) as PathState;
      best.range.reinjected = true;
      this.#sendRange(st, Math.max(best.range.seq, ack), best.range.end, finSeq, now);
      const fresh = this.#views(now).find((v) => v.id === target.id);
      if (fresh) Object.assign(target, fresh);
    }
  }

  #pumpRedundant(ack: number, windowEdge: number, finSeq: number | undefined, now: number): void {
    const limit = Math.min(this.output.endSeq, windowEdge);
    for (const st of this.#paths.values()) {
      st.cursor = Math.max(st.cursor, ack);
      for (let guard = 0; guard < 100_000; guard++) {
        if (!this.#ready(st, false, now)) break;
        if (st.cursor < limit) {
          const end = Math.min(limit, st.cursor + this.#o.maxFrameBytes);
          this.#sendRange(st, st.cursor, end, finSeq, now);
          st.cursor = end;
        } else if (finSeq !== undefined && st.cursor === finSeq) {
          this.#sendRange(st, finSeq, finSeq + 1, finSeq, now);
          st.cursor = finSeq + 1;
        } else break;
      }
      this.sendNext = Math.max(this.sendNext, st.cursor);
    }
  }

  /** Sends [seq, end) on one path: DATA frames from the output buffer, then FIN if it is in. */
  #sendRange(
    st: PathState,
    seq: number,
    end: number,
    finSeq: number | undefined,
    now: number,
  ): void {
    if (!st.corked) {
      st.link.cork();
      st.corked = true;
    }
    if (st.ledger.inflight === 0) st.progressAt = now;
    const dataEnd = finSeq === undefined ? end : Math.min(end, finSeq);
    let at = seq;
    if (dataEnd > seq) {
      for (const payload of this.output.slices(seq, dataEnd - seq)) {
        st.link.sendData(at, payload, false);
        at += payload.length;
      }
    }
    const fin = finSeq !== undefined && end > finSeq;
    if (fin) st.link.sendData(finSeq, Buffer.alloc(0), true);
    const bytes = Math.max(0, dataEnd - seq) + (fin ? 1 : 0);
    st.ledger.record(seq, end, bytes);
    st.batch += bytes;
  }

  #requeue(st: PathState, ack: number): void {
    for (const r of st.ledger.outstanding(ack)) {
      const from = Math.max(r.seq, ack);
      st.lost += r.end - from;
      this.#resend.add(from, r.end);
    }
  }

  /** With no healthy path left, suspect ones are all there is: use them again. */
  #unsuspectIfAlone(): void {
    const all = [...this.#paths.values()].filter((s) => s.link.open());
    if (all.length > 0 && all.every((s) => s.suspect)) {
      for (const s of all) {
        s.suspect = false;
        this.onSuspect(s.link.id, false);
      }
    }
  }

  #suspectAfter(st: PathState): number {
    const rtt = st.link.minRttMs() ?? DEFAULT_RTT_MS;
    return Math.max(this.#o.suspectFloorMs, 2 * rtt + 40);
  }

  #rate(st: PathState, now: number): number {
    const measured = st.rate.rate(now);
    const guess = INITIAL_CAP / Math.max(1, st.link.minRttMs() ?? DEFAULT_RTT_MS);
    if (measured === undefined || measured <= 0) return guess;
    // A young path measures its slow start and what little it was given, not what it can
    // do: until it has delivered a few initial windows the guess is its floor, or a path
    // that joins a short transfer late would never be given enough to show its rate.
    return st.ledger.delivered < TRUSTED_AFTER ? Math.max(measured, guess) : measured;
  }

  #cap(st: PathState, now: number): number {
    const measured = st.rate.rate(now);
    if (measured === undefined || measured <= 0) return INITIAL_CAP;
    const rtt = st.link.minRttMs() ?? DEFAULT_RTT_MS;
    return Math.max(CAP_FLOOR, measured * (CAP_GAIN * rtt + this.#o.queueMs)) + CAP_SLACK;
  }

  /**
   * Paths keep to their in-flight caps while more than one is open, a suspect one included,
   * and while bytes of a failed path wait to be re-sent: the survivor takes them and new data
   * at its own pace instead of a burst into its socket that overflows its bottleneck queue
   * (a loss there would stall the very bytes the receiver waits for). A single path is not
   * capped otherwise: its TCP alone sets the pace (a cap measured from delayed reports would
   * cost throughput). With holdBack (more paths are coming), the lone first one is capped too.
   */
  #capped(): boolean {
    if (this.holdBack) return true;
    let open = 0;
    for (const st of this.#paths.values()) if (st.link.open()) open++;
    return open > 1 || (open === 1 && !this.#resend.empty);
  }

  #ready(st: PathState, multi: boolean, now: number): boolean {
    if (st.suspect || !st.link.open() || !st.startWritable) return false;
    if (!st.link.writable() && st.batch >= PUMP_BATCH_BYTES) return false;
    return !multi || st.ledger.inflight < this.#cap(st, now);
  }

  #views(now: number): PathView[] {
    const list = [...this.#paths.values()];
    const multi = this.#capped();
    return list.map((st) => {
      const policy = st.policy;
      const rtt = st.link.minRttMs() ?? DEFAULT_RTT_MS;
      return {
        id: st.link.id,
        alive: !st.suspect && st.link.open(),
        ready: this.#ready(st, multi, now),
        inflight: st.ledger.inflight,
        cap: multi ? this.#cap(st, now) : Infinity,
        rate: this.#rate(st, now),
        owdMs: rtt / 2,
        rttMs: st.link.rttAvgMs() ?? rtt,
        preferred: policy.preferred,
        cost: policy.cost,
        overCap: st.ledger.sent >= policy.byteCap,
      };
    });
  }
}
