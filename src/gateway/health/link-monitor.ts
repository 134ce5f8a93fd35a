import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { rootLogger } from '../../log/logger.js';

/** The interface a line of `ip -o monitor link address` is about, or undefined. Pure. */
export function monitorLineInterface(line: string): string | undefined {
  // "3: uplink1: <BROADCAST,...> ..." (link), "3: uplink1    inet 10.0.0.2/24 ..." (address),
  // either prefixed with "Deleted ". Interface names may carry "@peer" in link lines.
  const m = /^(?:Deleted\s+)?\d+:\s+([^\s:@]+)(?:@[^\s:]+)?:?\s/.exec(line);
  return m?.[1];
}

/**
 * Link and address events from an `ip -o monitor link address` child: calls onChange with
 * the interface's name as soon as the kernel reports anything about it (milliseconds), so
 * the gateway can re-read its state. stop() kills the child.
 */
export class LinkMonitor {
  #child: ChildProcess | undefined;
  #stopped = false;

  constructor(
    private readonly interfaces: ReadonlySet<string>,
    private readonly onChange: (ifname: string) => void,
    private readonly spawnMonitor: () => ChildProcess = () =>
      spawn('ip', ['-o', 'monitor', 'link', 'address'], { stdio: ['ignore', 'pipe', 'ignore'] }),
  ) {}

  start(): void {
    const child = this.spawnMonitor();
    this.#child = child;
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      const ifname = monitorLineInterface(line);
      if (ifname !== undefined && this.interfaces.has(ifname)) this.onChange(ifname);
    });
    child.once('exit', (code, signal) => {
      if (!this.#stopped)
        rootLogger().error({ code, signal }, 'ip monitor exited; link events lost');
    });
  }

  stop(): void {
    this.#stopped = true;
    this.#child?.kill();
    this.#child = undefined;
  }
}
