import type { ServerResponse } from 'node:http';

/**
 * Server-sent events (the WHATWG "text/event-stream" format). `formatEvent` is pure; an
 * SseStream owns one response: it sends keepalive comments so idle proxies and the
 * client's liveness check see traffic, and it drops a watcher that stops reading once more
 * than `maxBufferedBytes` are queued, rather than buffering without bound. A dropped
 * watcher reconnects with Last-Event-ID and loses nothing.
 */
export function formatEvent(event: string, data: string, id?: string): string {
  let out = `event: ${event}\n`;
  if (id !== undefined) out += `id: ${id}\n`;
  for (const line of data.split('\n')) out += `data: ${line}\n`;
  return `${out}\n`;
}

export interface SseOptions {
  keepaliveMs: number;
  maxBufferedBytes: number;
  /** The client's reconnect delay hint (the `retry:` field). */
  retryMs: number;
}

export class SseStream {
  private readonly keepalive: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly opts: SseOptions,
    private readonly onClose: () => void,
  ) {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    res.write(`retry: ${opts.retryMs}\n\n`);
    this.keepalive = setInterval(() => this.write(': keepalive\n\n'), opts.keepaliveMs);
    this.keepalive.unref();
    res.on('close', () => this.close());
  }

  send(event: string, data: string, id?: string): void {
    this.write(formatEvent(event, data, id));
  }

  private write(text: string): void {
    if (this.closed) return;
    this.res.write(text);
    if (this.res.writableLength > this.opts.maxBufferedBytes) this.close(true);
  }

  /** Ends the stream (or, for a watcher that stopped reading, cuts it). Idempotent. */
  close(cut = false): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.keepalive);
    if (cut) this.res.destroy();
    else this.res.end();
    this.onClose();
  }
}
