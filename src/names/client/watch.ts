import type { ClientRequest, IncomingMessage } from 'node:http';
import { rootLogger } from '../../log/logger.js';
import { namesError } from '../codes.js';
import { ownerOf, parseName } from '../name.js';
import { type NameRecord, parseRecord } from '../record.js';
import { errorFrom, type JsonHttp, readAll } from './http.js';
import { type SseEvent, SseParser } from './sse-parser.js';
import type { Trust } from './trust.js';

export interface NameChange {
  type: 'put' | 'delete';
  name: string;
  record: NameRecord;
  revision: number;
}

export interface WatchOptions {
  /** Also follow every name these users own (their devices and services). */
  owners?: readonly string[];
  /** Reconnect backoff: doubles from min to max, with jitter; back to min once synced. */
  minRetryMs?: number;
  maxRetryMs?: number;
  /** No byte for this long (the server sends keepalives every 15 s) means a dead stream. */
  idleTimeoutMs?: number;
  /** No HTTP response this long after a connection attempt: it failed (and is retried). */
  connectTimeoutMs?: number;
  /**
   * The server cannot be reached (first failed attempt, or the stream ended): called once
   * per outage, with ROAM_NAMES_UNREACHABLE; the watch keeps retrying.
   */
  onOutage?: (err: Error) => void;
  /** Caught up again after an outage. */
  onResume?: () => void;
  /** Errors the watch met: drops (it reconnects), refused events, a refused watch. */
  onError?: (err: Error) => void;
  onReset?: (reason: string) => void;
  /** The stream is caught up (after the snapshot or a resumption): what follows is live. */
  onSync?: () => void;
}

export type WatchState = 'connecting' | 'open' | 'waiting' | 'closed';

/**
 * A watch of some names: every new version, verified, in order, exactly once (the
 * version-aware cache drops what the client already has). It reconnects by itself and
 * resumes from the last event it received whole (Last-Event-ID), so a dropped connection
 * costs latency, not versions.
 *
 *   connecting ──200──▶ open ──end, error, idle──▶ waiting ──backoff──▶ connecting
 *       └──────────error, 429, 5xx───────────────────▲        any ──close()──▶ closed
 *   (any other 4xx is the caller's mistake: closed, with onError)
 */
export class NameWatch {
  state: WatchState = 'connecting';
  /** Connections made so far (1 + reconnects). */
  connects = 0;
  /** Times the stream caught up (first snapshot, then each resumption). */
  syncs = 0;
  readonly ready: Promise<void>;
  private resolveReady!: () => void;
  private rejectReady!: (err: Error) => void;
  private readonly parser = new SseParser();
  private req: ClientRequest | undefined;
  private timer: NodeJS.Timeout | undefined;
  private idle: NodeJS.Timeout | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private attempts = 0;
  /** Between onOutage and the next sync. */
  private out = false;
  private chain = Promise.resolve();
  private readonly names: Set<string>;
  private readonly owners: Set<string>;
  private readonly opts: Required<
    Pick<WatchOptions, 'minRetryMs' | 'maxRetryMs' | 'idleTimeoutMs' | 'connectTimeoutMs'>
  > &
    WatchOptions;

  constructor(
    private readonly http: JsonHttp,
    private readonly trust: Trust,
    private readonly clockNow: () => number,
    names: readonly string[],
    private readonly onChange: (change: NameChange) => void,
    opts: WatchOptions = {},
  ) {
    this.names = new Set(names);
    this.owners = new Set(opts.owners ?? []);
    this.opts = {
      minRetryMs: 100,
      maxRetryMs: 5000,
      idleTimeoutMs: 45_000,
      connectTimeoutMs: 5000,
      ...opts,
    };
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => undefined);
    this.connect();
  }

  get lastEventId(): string | undefined {
    return this.parser.lastEventId;
  }

  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.timer);
    clearTimeout(this.idle);
    clearTimeout(this.connectTimer);
    this.req?.destroy();
    this.resolveReady();
  }

  /**
   * Drops the stream and opens a new one now, resuming from the last event received whole.
   * For a host whose address just changed: its old stream is silently dead (no TCP error)
   * and would only be noticed after idleTimeoutMs.
   */
  reconnect(): void {
    if (this.state === 'closed') return;
    clearTimeout(this.timer);
    clearTimeout(this.idle);
    clearTimeout(this.connectTimer);
    const req = this.req;
    this.req = undefined; // its close and error events are ignored from here on
    req?.destroy();
    this.parser.reset();
    this.attempts = 0;
    this.connect();
  }

  private connect(): void {
    this.state = 'connecting';
    this.connects++;
    const q = new URLSearchParams();
    for (const n of this.names) q.append('name', n);
    for (const o of this.owners) q.append('owner', o);
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (this.parser.lastEventId) headers['last-event-id'] = this.parser.lastEventId;
    const req = this.http.open(`/v1/watch?${q.toString()}`, headers);
    this.req = req;
    const dropped = (err?: Error) => this.dropped(req, err);
    const ms = this.opts.connectTimeoutMs;
    this.connectTimer = setTimeout(() => req.destroy(new Error(`no answer in ${ms} ms`)), ms);
    req.on('response', (res) => {
      clearTimeout(this.connectTimer);
      this.opened(req, res, dropped);
    });
    req.on('error', dropped);
    req.end();
  }

  private opened(req: ClientRequest, res: IncomingMessage, dropped: (err?: Error) => void): void {
    if (this.req !== req || this.state === 'closed') return void res.destroy();
    if (res.statusCode !== 200) {
      const status = res.statusCode ?? 500;
      void readAll(res, 64 * 1024)
        .then((text) => errorFrom(status, JSON.parse(text)))
        .catch(() => errorFrom(status, undefined))
        .then((err) => (status >= 500 || status === 429 ? dropped(err) : this.fatal(err)));
      return;
    }
    this.state = 'open';
    this.armIdle(req);
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      this.armIdle(req);
      try {
        for (const event of this.parser.push(chunk)) this.enqueue(event);
      } catch (err) {
        req.destroy(err as Error);
      }
    });
    res.on('error', dropped);
    res.on('close', () => dropped());
  }

  private armIdle(req: ClientRequest): void {
    clearTimeout(this.idle);
    this.idle = setTimeout(
      () => req.destroy(new Error(`no data for ${this.opts.idleTimeoutMs} ms`)),
      this.opts.idleTimeoutMs,
    );
  }

  private dropped(req: ClientRequest, err?: Error): void {
    if (this.req !== req || this.state === 'closed' || this.state === 'waiting') return;
    this.state = 'waiting';
    this.req = undefined;
    clearTimeout(this.idle);
    clearTimeout(this.connectTimer);
    req.destroy();
    this.parser.reset();
    if (err) this.report(err, 'debug'); // expected on a network change: it reconnects
    if (!this.out) {
      this.out = true;
      const origin = this.http.base.origin;
      this.opts.onOutage?.(
        namesError(
          'ROAM_NAMES_UNREACHABLE',
          err
            ? `cannot reach the name server at ${origin}: ${err.message}; retrying`
            : `the watch stream from ${origin} ended; reconnecting`,
          { cause: err },
        ),
      );
    }
    const base = Math.min(this.opts.maxRetryMs, this.opts.minRetryMs * 2 ** this.attempts++);
    this.timer = setTimeout(() => this.connect(), base * (0.5 + Math.random() / 2));
  }

  private fatal(err: Error): void {
    this.report(err, 'warn');
    this.rejectReady(err);
    this.close();
  }

  private report(err: Error, level: 'debug' | 'warn'): void {
    if (this.opts.onError) this.opts.onError(err);
    else rootLogger()[level]({ err }, 'names watch');
  }

  private enqueue(event: SseEvent): void {
    this.chain = this.chain
      .then(() => this.handle(event))
      .catch((err: unknown) => this.report(err as Error, 'warn'));
  }

  private async handle(event: SseEvent): Promise<void> {
    if (this.state === 'closed') return;
    switch (event.event) {
      case 'sync':
        this.attempts = 0;
        this.syncs++;
        this.resolveReady();
        if (this.out) {
          this.out = false;
          this.opts.onResume?.();
        }
        this.opts.onSync?.();
        return;
      case 'reset':
        this.opts.onReset?.((JSON.parse(event.data) as { reason: string }).reason);
        return;
      case 'put':
      case 'delete':
        return this.change(
          JSON.parse(event.data) as { revision: number; name: string; record: unknown },
        );
      default:
        return;
    }
  }

  private async change(data: { revision: number; name: string; record: unknown }): Promise<void> {
    const record = parseRecord(data.record, 'event.record');
    if (record.name !== data.name)
      throw namesError('ROAM_NAMES_UNTRUSTED', `watch event for ${data.name} holds ${record.name}`);
    if (!this.names.has(record.name) && !this.owners.has(ownerOf(parseName(record.name)))) return;
    if (record.expiresAt <= this.clockNow()) return; // old news from a replayed history
    const { fresh } = await this.trust.accept(record.name, record);
    if (!fresh || this.state === 'closed') return;
    this.onChange({
      type: record.deleted ? 'delete' : 'put',
      name: record.name,
      record,
      revision: data.revision,
    });
  }
}
