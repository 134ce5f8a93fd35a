import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Lab } from '../../src/lab/lab.js';
import { EventLog } from '../../test/lab/event-log.js';

export interface LineEvent {
  event: string;
  /** Monotonic ms (./clock.ts). */
  t: number;
  [field: string]: unknown;
}

/** A worker inside a lab host that prints JSON lines; the benchmark's handle on it. */
export class LinesProcess {
  private readonly log = new EventLog<LineEvent>();
  private readonly child: ChildProcess;
  /** The last 2000 characters the worker wrote to stderr. */
  stderrTail = '';
  readonly exited: Promise<void>;

  constructor(lab: Lab, host: string, argv: string[]) {
    this.child = lab.spawn(host, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    // Passed through, and the end kept: a crashed worker's last words go into the report.
    this.child.stderr?.on('data', (d: Buffer) => {
      process.stderr.write(d);
      this.stderrTail = (this.stderrTail + d.toString()).slice(-2000);
    });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      let e: LineEvent;
      try {
        e = JSON.parse(line) as LineEvent;
      } catch {
        return;
      }
      this.log.push(e);
    });
  }

  get events(): LineEvent[] {
    return this.log.events;
  }

  /** The first event from index `from` on (past or future) that matches, or a timeout error. */
  waitFor(
    match: (e: LineEvent) => boolean,
    opts: { from?: number; timeoutMs?: number; what?: string } = {},
  ): Promise<LineEvent> {
    return this.log.waitFor(match, opts);
  }

  /** The exit code or signal once the worker has ended on its own (a crash), else null. */
  get ended(): string | null {
    if (this.child.exitCode !== null) return `exit ${this.child.exitCode}`;
    return this.child.signalCode !== null ? `signal ${this.child.signalCode}` : null;
  }

  /**
   * CPU seconds (user + system) the worker has used so far, from /proc (`ip netns exec` and
   * `mptcpize run` exec the worker, so the child's pid is the worker's); NaN once it is gone.
   */
  cpuSeconds(): number {
    try {
      const stat = readFileSync(`/proc/${this.child.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime and stime are fields 14 and 15 of stat (11 and 12 after the command name), in
      // clock ticks of 1/100 s on Linux.
      return (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      return Number.NaN;
    }
  }

  /** Index to pass as `from` to see only what comes after now. */
  get mark(): number {
    return this.log.mark;
  }

  send(line: string): void {
    this.child.stdin?.write(`${line}\n`);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}
