import type { ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Lab } from '../../src/lab/lab.js';
import { EventLog } from './event-log.js';

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
  private readonly log = new EventLog<ProbeEvent>();
  private readonly child: ChildProcess;
  readonly exited: Promise<void>;

  /** Runs `script` (default: the tcp-probe fixture) with `args` inside `host`. */
  constructor(lab: Lab, host: string, args: string[], script = PROBE) {
    this.child = lab.spawn(host, [process.execPath, script, ...args], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    const lines = createInterface({ input: this.child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => this.log.push(JSON.parse(line) as ProbeEvent));
  }

  get events(): ProbeEvent[] {
    return this.log.events;
  }

  /** The first event (already seen or future) that matches, or a timeout error. */
  waitFor(
    match: (e: ProbeEvent) => boolean,
    timeoutMs = 10_000,
    what = 'event',
  ): Promise<ProbeEvent> {
    return this.log.waitFor(match, { timeoutMs, what });
  }

  /** Waits for the next event that matches, ignoring ones already seen. */
  next(match: (e: ProbeEvent) => boolean, timeoutMs = 10_000, what = 'event'): Promise<ProbeEvent> {
    return this.log.waitFor(match, { from: this.log.mark, timeoutMs, what });
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
