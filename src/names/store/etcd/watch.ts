import type { IDuplexStream, IEvent, IWatchRequest, IWatchResponse } from 'etcd3';
import type { RoamError } from '../../../errors.js';
import { rootLogger } from '../../../log/logger.js';
import { namesError } from '../../codes.js';
import type { StoreEvent, WatchListener } from '../store.js';
import type { EtcdConnection } from './connection.js';
import { decodeEntry, type EtcdLayout } from './layout.js';

export interface EtcdWatchParams {
  conn: EtcdConnection;
  layout: EtcdLayout;
  /** etcd revision of the store's revision 0. */
  base: number;
  /** First etcd revision to deliver. */
  start: number;
  /** etcd revision of the store's last write when the watch began: the end of its history. */
  historyUntil: number;
  listener: WatchListener;
  /** Called once if the watch ends by itself (history compacted, etcd gone too long). */
  onBroken: (err: RoamError) => void;
  /** Called when etcd answers a progress request (requestProgress) on this watch's stream. */
  onProgress?: (revision: number) => void;
}

type State = 'opening' | 'streaming' | 'reconnecting' | 'closed';

/**
 * One store watch on etcd's own watch: a gRPC watch stream over the entry keys from a
 * revision. It resumes by itself after a member dies or the stream drops, from the revision
 * after the last event it delivered (not from the stream's header revision, which can run
 * ahead of the events during a history replay), so every event arrives once and in order.
 *
 *   opening ──created──▶ streaming ──error, end──▶ reconnecting ──pause──▶ opening
 *   any ──close(), compacted, down for too long──▶ closed
 *
 * `ready` settles once the history up to `historyUntil` is delivered (etcd replays it after
 * answering the create request), so the caller sees history before `watch()` returns.
 */
export class EtcdWatch {
  state: State = 'opening';
  readonly ready: Promise<void>;
  private resolveReady!: () => void;
  private rejectReady!: (err: RoamError) => void;
  private isReady = false;
  private next: number;
  private stream: IDuplexStream<IWatchRequest, IWatchResponse> | undefined;
  private attempts = 0;
  /** When the watch last streamed (or began): down for longer than the limit ends it. */
  private downSince = Date.now();
  private readyTimer: NodeJS.Timeout | undefined;

  constructor(private readonly p: EtcdWatchParams) {
    this.next = p.start;
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => undefined);
    this.readyTimer = setTimeout(
      () =>
        this.fail(
          namesError(
            'ROAM_NAMES_STORE_UNAVAILABLE',
            `the name store (etcd) did not start a watch within ${p.conn.timeoutMs} ms; try again`,
            { details: { retryAfterMs: 1000 } },
          ),
        ),
      p.conn.timeoutMs,
    );
    void this.open();
  }

  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.readyTimer);
    if (this.stream) finish(this.stream);
    this.stream = undefined;
  }

  /**
   * Asks etcd, on this watch's stream, to say how far the stream is complete (etcd 3.4's
   * progress request; etcd answers only once the stream caught up). False if not streaming.
   */
  requestProgress(): boolean {
    if (this.state !== 'streaming' || !this.stream) return false;
    this.stream.write({ progress_request: {} });
    return true;
  }

  /** Drops the stream and resumes from the next revision (a member that went silent). */
  resume(why: string): void {
    if (this.state === 'streaming') this.dropped(this.stream, new Error(why));
  }

  private async open(): Promise<void> {
    this.state = 'opening';
    let stream: IDuplexStream<IWatchRequest, IWatchResponse>;
    try {
      stream = await this.p.conn.client.watchClient.watch();
    } catch (err) {
      return this.dropped(undefined, err as Error);
    }
    if (this.state !== 'opening') return finish(stream);
    this.stream = stream;
    stream.on('data', (res: IWatchResponse) => this.onResponse(stream, res));
    stream.on('error', (err: Error) => this.dropped(stream, err));
    stream.on('end', () => this.dropped(stream));
    stream.write({
      create_request: { ...this.p.layout.nameRange(), start_revision: this.next, prev_kv: true },
    });
  }

  private onResponse(stream: IDuplexStream<IWatchRequest, IWatchResponse>, res: IWatchResponse) {
    if (stream !== this.stream || this.state === 'closed') return;
    if (res.canceled) {
      if (res.compact_revision && res.compact_revision !== '0')
        return this.fail(
          namesError(
            'ROAM_NAMES_COMPACTED',
            `revision ${this.next - 1 - this.p.base} is compacted (etcd history starts at ${Number(res.compact_revision) - this.p.base}); read the names again and watch from the new revision`,
          ),
        );
      return this.dropped(stream, new Error(`etcd canceled the watch: ${res.cancel_reason}`));
    }
    if (res.created) {
      this.state = 'streaming';
      this.attempts = 0;
    }
    for (const ev of res.events) {
      if ((this.state as State) === 'closed') return;
      this.deliver(ev);
    }
    // A response with neither events nor a creation answers a progress request: the stream
    // is live and synced, so every write acknowledged before the request was sent has been
    // delivered before this. (Not used to advance `next`: etcd before 3.4.24 may name in it
    // a revision whose events are still on their way, etcd issue 15220.)
    if (!res.created && res.events.length === 0 && this.isReady && this.p.onProgress)
      this.p.onProgress(Number(res.header.revision) - this.p.base);
    if (!this.isReady && this.state === 'streaming' && this.next > this.p.historyUntil) {
      this.isReady = true;
      clearTimeout(this.readyTimer);
      this.resolveReady();
    }
  }

  private deliver(ev: IEvent): void {
    const revision = Number(ev.kv.mod_revision);
    if (revision < this.next) return; // already delivered before a reconnect
    this.next = revision + 1;
    const name = this.p.layout.nameOf(ev.kv.key);
    if (name === undefined) return;
    let event: StoreEvent;
    try {
      event = this.event(ev, name, revision - this.p.base);
    } catch (err) {
      // Not written by a roam store (someone else wrote under the prefix): not an event.
      rootLogger().error({ err, key: ev.kv.key.toString() }, 'names store: unreadable etcd entry');
      return;
    }
    try {
      this.p.listener(event);
    } catch (err) {
      rootLogger().error({ err, name }, 'names store watcher failed; dropped');
      this.close();
    }
  }

  private event(ev: IEvent, name: string, revision: number): StoreEvent {
    if (ev.type === 'Put') return { type: 'put', revision, name, ...decodeEntry(ev.kv.value) };
    const prev = ev.prev_kv?.value?.length ? decodeEntry(ev.prev_kv.value) : undefined;
    return {
      type: 'delete',
      revision,
      name,
      owner: prev?.owner ?? '',
      version: prev?.version ?? 0,
      value: undefined,
    };
  }

  private dropped(stream: IDuplexStream<IWatchRequest, IWatchResponse> | undefined, err?: Error) {
    if (stream !== this.stream || this.state === 'closed' || this.state === 'reconnecting') return;
    if (this.state === 'streaming') this.downSince = Date.now();
    this.state = 'reconnecting';
    if (stream) finish(stream);
    this.stream = undefined;
    rootLogger().debug({ err }, 'names store: etcd watch dropped; resuming');
    const downFor = Date.now() - this.downSince;
    if (this.isReady && downFor > 2 * this.p.conn.timeoutMs)
      return this.fail(
        namesError(
          'ROAM_NAMES_STORE_UNAVAILABLE',
          `the name store (etcd) has been unreachable for ${downFor} ms: ${err?.message ?? 'stream ended'}`,
        ),
      );
    const pause = Math.min(50 * 2 ** this.attempts++, 1000);
    void this.p.conn.pause(pause).then(() => {
      if (this.state === 'reconnecting' && !this.p.conn.isClosed) void this.open();
    });
  }

  private fail(err: RoamError): void {
    if (this.state === 'closed') return;
    const wasReady = this.isReady;
    this.close();
    if (wasReady) this.p.onBroken(err);
    else this.rejectReady(err);
  }
}

/**
 * Ends a watch stream from this side. Half-closing first matters: the etcd3 client counts a
 * stream that errors while still writable as a failure of its member (and a few in a row
 * open that member's circuit breaker), but our own cancel is no failure of anybody's.
 */
function finish(stream: IDuplexStream<IWatchRequest, IWatchResponse>): void {
  stream.end();
  stream.cancel();
}
