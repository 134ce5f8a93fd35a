import type { ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Lab } from '../../src/lab/lab.js';

const PROBE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'tcp-probe.js');

export interface ProbeEvent {
  event: string;
  [field: string]: unknown;
  code?: string;
  bytes?: number;
  remote?: string;
  local?: string;
}

/** A tcp-probe process inside a lab host, with its events as they come. */
export class Probe {
  readonly events: ProbeEvent[] = [];
  private waiters: { match: (e: ProbeEvent) => boolean; resolve: (e: ProbeEvent) => void }[] = [];
  private readonly child: ChildProcess;
  readonly exited: Promise<void>;

  /** Runs `script` (default: the tcp-probe fixture) with `args` inside `host`. */
  constructor(lab: Lab, host: string, args: string[], script = PROBE) {
    this.child = lab.spawn(host, [process.execPath, script, ...args], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    const lines = createInterface({ input: this.child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      const e = JSON.parse(line) as ProbeEvent;
      this.events.push(e);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(e)) return true;
        w.resolve(e);
        return false;
      });
    });
  }

  /** The first event (already seen or future) that matches, or a timeout error. */
  waitFor(
    match: (e: ProbeEvent) => boolean,
    timeoutMs = 10_000,
    what = 'event',
  ): Promise<ProbeEvent> {
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `timed out after ${timeoutMs} ms waiting for ${what}; saw ${JSON.stringify(this.events.slice(-5))}`,
            ),
          ),
        timeoutMs,
      );
      this.waiters.push({
        match,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
    });
  }

  /** Waits for the next event that matches, ignoring ones already seen. */
  next(match: (e: ProbeEvent) => boolean, timeoutMs = 10_000, what = 'event'): Promise<ProbeEvent> {
    const seen = this.events.length;
    return this.waitFor((e) => this.events.indexOf(e) >= seen && match(e), timeoutMs, what);
  }

  /** A line on the process's standard input (commands to fixtures that take them). */
  send(line: string): void {
    this.child.stdin?.write(`${line}\n`);
  }

  get bytes(): number {
    for (let i = this.events.length - 1; i >= 0; i--) {
      const e = this.events[i];
      if (e?.event === 'progress') return e.bytes ?? 0;
    }
    return 0;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}
