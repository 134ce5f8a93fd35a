import { request } from 'node:http';
import type { TestContext } from 'node:test';
import { type SseEvent, SseParser } from '../../src/names/client/sse-parser.js';
import { Waiter } from './helpers.js';

/** A bare watch connection for tests: every parsed event, in order; closed with the test. */
export class SseReader {
  readonly events: SseEvent[] = [];
  status = 0;
  ended = false;
  readonly parser = new SseParser();
  private readonly waiter = new Waiter();
  private readonly req;

  constructor(t: TestContext, url: string, headers: Record<string, string> = {}) {
    this.req = request(
      url,
      { agent: false, headers: { accept: 'text/event-stream', ...headers } },
      (res) => {
        this.status = res.statusCode ?? 0;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          for (const e of this.parser.push(chunk)) this.events.push(e);
          this.waiter.poke();
        });
        res.on('close', () => {
          this.ended = true;
          this.waiter.poke();
        });
        this.waiter.poke();
      },
    );
    this.req.on('error', () => {
      this.ended = true;
      this.waiter.poke();
    });
    this.req.end();
    t.after(() => this.close());
  }

  until(check: (events: SseEvent[]) => boolean): Promise<void> {
    return this.waiter.until(() => check(this.events) || this.ended);
  }

  count(type: string): number {
    return this.events.filter((e) => e.event === type).length;
  }

  /** The versions of put/delete events received. */
  versions(): number[] {
    return this.events
      .filter((e) => e.event === 'put' || e.event === 'delete')
      .map((e) => (JSON.parse(e.data) as { record: { version: number } }).record.version);
  }

  close(): void {
    this.req.destroy();
  }
}
