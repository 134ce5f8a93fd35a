import { performance } from 'node:perf_hooks';
import type { RoamError } from '../../../errors.js';
import { rootLogger } from '../../../log/logger.js';
import { namesError } from '../../codes.js';
import type { ChangeFeed, FeedSignal, StoreEvent, WatchHandle, WatchListener } from '../store.js';

export interface ChangeFeedOptions {
  /**
   * The longest a cached answer may be behind the store: the feed confirms (a progress
   * request on its own watch stream, every quarter of this) that its watch is live and
   * caught up; unconfirmed for longer, the server answers from etcd instead (default 2000).
   */
  maxStalenessMs?: number;
  /** Waiters for a revision (lookups with minRevision) held at once (default 10,000). */
  maxWaiters?: number;
  /** Monotonic milliseconds (default performance.now). */
  now?: () => number;
}

/** The watch the feed runs on (EtcdWatch). */
export interface FeedWatch {
  close(): void;
  /** Asks for a progress answer on the watch's stream; false if it is not streaming. */
  requestProgress(): boolean;
  /** Drops the stream and resumes from the next revision, without a gap. */
  resume(why: string): void;
}

/** What the feed needs of its store (EtcdStore gives it; unit tests give another). */
export interface FeedSource {
  revision(): Promise<number>;
  openWatch(
    from: number,
    listener: WatchListener,
    onBroken: (err: RoamError) => void,
    onProgress: () => void,
  ): Promise<FeedWatch>;
  pause(ms: number): Promise<void>;
}

type FeedState = 'starting' | 'live' | 'reloading' | 'closed';

interface Waiter {
  revision: number;
  resolve: (reached: boolean) => void;
  timer: NodeJS.Timeout;
}

/**
 * The change feed of an EtcdStore: one etcd watch of every entry from a known revision, so
 * the server's lookup cache is told of every change in revision order (ChangeFeed).
 *
 *   starting ──watch created at the current revision──▶ live
 *   live ──history compacted, or etcd gone too long (the watch cannot resume)──▶ reloading
 *   reloading ──a new watch from the then current revision──▶ live (after a reset)
 *   any ──close()──▶ closed
 *
 * While live, a watch stream that drops resumes by itself without a gap (EtcdWatch); one
 * that stays open but silent (a member cut off) is noticed by its unanswered progress
 * requests and resumed on another connection. Entering and leaving `reloading` both say
 * `reset`: cached answers go, and a read that began before the new watch is not cached.
 */
export class EtcdChangeFeed implements ChangeFeed {
  state: FeedState = 'starting';
  /** Every change up to this store revision has been told (events only, see EtcdWatch). */
  through = 0;
  /** Times the feed had to start again from the current revision (compaction, outage). */
  reloads = 0;
  /** Times a silent watch stream was dropped and resumed. */
  silentResumes = 0;
  readonly maxStalenessMs: number;
  private confirmedAt = -Infinity;
  /** Send times of progress requests not answered yet, oldest first. */
  private asked: number[] = [];
  private watch: FeedWatch | undefined;
  private readonly ticker: NodeJS.Timeout;
  private readonly listeners = new Set<(signal: FeedSignal) => void>();
  private waiters: Waiter[] = [];
  private readonly maxWaiters: number;
  private readonly now: () => number;

  constructor(
    private readonly source: FeedSource,
    opts: ChangeFeedOptions = {},
  ) {
    this.maxStalenessMs = opts.maxStalenessMs ?? 2000;
    if (!(Number.isFinite(this.maxStalenessMs) && this.maxStalenessMs >= 20))
      throw namesError('ROAM_NAMES_CONFIG', 'maxStalenessMs must be at least 20 ms');
    this.maxWaiters = opts.maxWaiters ?? 10_000;
    this.now = opts.now ?? (() => performance.now());
    this.ticker = setInterval(() => this.tick(), Math.max(5, this.maxStalenessMs / 4));
    this.ticker.unref();
  }

  /** The first watch; throws (and the store does not open) if etcd cannot start one. */
  async start(): Promise<void> {
    await this.open();
  }

  get gapless(): boolean {
    return this.state === 'live';
  }

  serving(): boolean {
    return this.state === 'live' && this.now() - this.confirmedAt <= this.maxStalenessMs;
  }

  subscribe(listener: (signal: FeedSignal) => void): WatchHandle {
    this.listeners.add(listener);
    return { close: () => this.listeners.delete(listener) };
  }

  reach(revision: number, ms: number): Promise<boolean> {
    if (this.through >= revision) return Promise.resolve(true);
    if (this.state === 'closed' || this.waiters.length >= this.maxWaiters)
      return Promise.resolve(false);
    return new Promise((resolve) => {
      const w: Waiter = {
        revision,
        resolve,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((x) => x !== w);
          resolve(false);
        }, ms),
      };
      this.waiters.push(w);
    });
  }

  /** This server's own acknowledged write: told now, before the write's promise settles. */
  wrote(event: StoreEvent): void {
    this.emit({ type: 'change', event });
  }

  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearInterval(this.ticker);
    this.watch?.close();
    this.watch = undefined;
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.resolve(false);
    }
    this.waiters = [];
    this.listeners.clear();
  }

  private async open(): Promise<void> {
    const began = this.now();
    const from = await this.source.revision();
    const watch = await this.source.openWatch(
      from,
      (e) => this.onEvent(e),
      (err) => this.onBroken(watch, err),
      () => this.onProgress(),
    );
    if (this.state === 'closed') return watch.close();
    this.watch = watch;
    // Everything up to `from` is in etcd for any read made from now on; what follows, the
    // watch tells. So the feed is complete as of `began`.
    this.through = Math.max(this.through, from);
    this.confirmedAt = began;
    this.asked = [];
    this.state = 'live';
    this.emit({ type: 'reset' });
    this.wake();
  }

  private onEvent(event: StoreEvent): void {
    // Also while starting: the new watch replays the writes since its start revision before
    // open() returns, and `through` must count them (the reset at going live covers the
    // cache either way).
    if (this.state === 'closed') return;
    this.through = Math.max(this.through, event.revision);
    this.emit({ type: 'change', event });
    this.wake();
  }

  private onProgress(): void {
    const sent = this.asked.shift();
    // Answers come in order; a request lost with a dropped stream makes later answers pair
    // with earlier send times, which only understates freshness.
    if (sent !== undefined) this.confirmedAt = Math.max(this.confirmedAt, sent);
  }

  private onBroken(watch: FeedWatch, err: RoamError): void {
    if (this.state !== 'live' || watch !== this.watch) return;
    rootLogger().warn({ err }, 'names store: the change feed lost its etcd watch; reloading');
    this.watch = undefined;
    this.state = 'reloading';
    this.reloads++;
    this.emit({ type: 'reset' });
    void this.reload();
  }

  private async reload(): Promise<void> {
    for (let attempt = 0; this.state === 'reloading'; attempt++) {
      try {
        await this.open();
        return;
      } catch (err) {
        rootLogger().debug({ err }, 'names store: the change feed could not restart yet');
        await this.source.pause(Math.min(50 * 2 ** attempt, 1000));
      }
    }
  }

  /**
   * Asks the watch to confirm it is caught up; resumes a stream that stopped answering.
   * Run by the feed's own timer (tests with a manual clock call it).
   */
  tick(): void {
    if (this.state !== 'live' || !this.watch) return;
    const now = this.now();
    const oldest = this.asked[0];
    if (oldest !== undefined && now - oldest > this.maxStalenessMs) {
      this.silentResumes++;
      this.asked = [];
      this.watch.resume(`no progress answer from etcd in ${Math.round(now - oldest)} ms`);
      return;
    }
    if (this.watch.requestProgress()) {
      this.asked.push(now);
      if (this.asked.length > 16) this.asked.shift();
    }
  }

  private wake(): void {
    if (!this.waiters.length) return;
    this.waiters = this.waiters.filter((w) => {
      if (w.revision > this.through) return true;
      clearTimeout(w.timer);
      w.resolve(true);
      return false;
    });
  }

  private emit(signal: FeedSignal): void {
    for (const listener of this.listeners)
      try {
        listener(signal);
      } catch (err) {
        rootLogger().error({ err }, 'names store: a change feed listener failed; dropped');
        this.listeners.delete(listener);
      }
  }
}
