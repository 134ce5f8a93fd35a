import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { networkInterfaces } from 'node:os';
import { createInterface } from 'node:readline';
import { RoamError } from '../errors.js';
import { rootLogger } from '../log/logger.js';
import {
  type AddressChange,
  diffAddresses,
  type LocalAddress,
  snapshot,
} from './local-addresses.js';

export type { AddressChange, LocalAddress } from './local-addresses.js';

export type WatchMode = 'netlink' | 'poll';

export interface WatchAddressesOptions {
  /**
   * 'netlink': the kernel's own notifications, through an `ip monitor address link` child
   * process (each line it prints triggers a re-read); 'poll': re-read every intervalMs.
   * Default: netlink, or poll where `ip` cannot be run.
   */
  mode?: WatchMode;
  /** Poll mode's interval (default 1000 ms); netlink mode uses no timer. */
  intervalMs?: number;
  /** Report loopback addresses too (default false). */
  includeInternal?: boolean;
  /** Where the addresses come from; tests inject a fake (default os.networkInterfaces). */
  read?: () => ReturnType<typeof networkInterfaces>;
}

/**
 * The host's addresses, and an event when they change: 'change' with `{ added, removed }`.
 * It sees the network namespace the process runs in. `close()` stops the child or the timer.
 *
 *   netlink: ip monitor ──line──▶ re-read ──diff──▶ 'change'
 *   poll:    timer(intervalMs) ──▶ re-read ──diff──▶ 'change'
 *   (the monitor exiting by itself: 'error', then poll mode)
 */
export class AddressWatcher extends EventEmitter<{ change: [AddressChange]; error: [Error] }> {
  private current: LocalAddress[];
  private child: ChildProcess | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private _mode: WatchMode;

  /** Use `watchAddresses()`: it waits until the monitor runs. */
  constructor(
    private readonly opts: Required<Omit<WatchAddressesOptions, 'mode'>> & { mode: WatchMode },
  ) {
    super();
    this._mode = opts.mode;
    this.current = this.read();
  }

  get mode(): WatchMode {
    return this._mode;
  }

  /** The addresses now (as of the last event or poll). */
  addresses(): LocalAddress[] {
    return [...this.current];
  }

  /** Re-reads at once (a caller that knows something changed need not wait). */
  refresh(): void {
    if (this.closed) return;
    const next = this.read();
    const change = diffAddresses(this.current, next);
    this.current = next;
    if (change.added.length || change.removed.length) this.emit('change', change);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.timer = undefined;
    const child = this.child;
    this.child = undefined;
    child?.kill();
  }

  /** Starts the monitor; resolves once it runs (or rejects: `ip` missing). */
  startNetlink(): Promise<void> {
    const child = spawn('ip', ['monitor', 'address', 'link'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    this.child = child;
    return new Promise((resolve, reject) => {
      child.once('error', (err) => {
        this.child = undefined;
        reject(
          new RoamError(
            'ROAM_MOBILITY_NO_MONITOR',
            `cannot run \`ip monitor\` (${err.message}); install iproute2 or use mode 'poll'`,
            { cause: err },
          ),
        );
      });
      child.once('spawn', () => {
        createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', () =>
          this.refresh(),
        );
        child.once('exit', (code, signal) => {
          if (this.child !== child) return;
          this.child = undefined;
          const err = new RoamError(
            'ROAM_MOBILITY_MONITOR_EXITED',
            `\`ip monitor\` exited (${signal ?? code}); polling every ${this.opts.intervalMs} ms instead`,
          );
          // Not fatal (it polls from now on): without a listener, a log line instead of a throw.
          if (this.listenerCount('error') > 0) this.emit('error', err);
          else rootLogger().warn({ err: err.message }, 'address watcher');
          this.startPoll();
        });
        // Anything that changed while the monitor was starting.
        this.refresh();
        resolve();
      });
    });
  }

  startPoll(): void {
    if (this.closed) return;
    this._mode = 'poll';
    this.timer = setInterval(() => this.refresh(), this.opts.intervalMs);
  }

  private read(): LocalAddress[] {
    return snapshot(this.opts.read(), { includeInternal: this.opts.includeInternal });
  }
}

/** Watches this host's addresses (see AddressWatcher). */
export async function watchAddresses(opts: WatchAddressesOptions = {}): Promise<AddressWatcher> {
  const intervalMs = opts.intervalMs ?? 1000;
  if (!Number.isFinite(intervalMs) || intervalMs < 10 || intervalMs > 3_600_000)
    throw new RoamError(
      'ROAM_BAD_INPUT',
      `intervalMs must be within 10..3600000, got ${intervalMs}`,
    );
  if (opts.mode !== undefined && opts.mode !== 'netlink' && opts.mode !== 'poll')
    throw new RoamError(
      'ROAM_BAD_INPUT',
      `mode must be 'netlink' or 'poll', got ${String(opts.mode)}`,
    );
  const watcher = new AddressWatcher({
    mode: opts.mode ?? 'netlink',
    intervalMs,
    includeInternal: opts.includeInternal ?? false,
    read: opts.read ?? networkInterfaces,
  });
  if (watcher.mode === 'poll') {
    watcher.startPoll();
    return watcher;
  }
  try {
    await watcher.startNetlink();
  } catch (err) {
    if (opts.mode === 'netlink') throw err;
    rootLogger().debug({ err: (err as Error).message }, 'address watcher: polling instead');
    watcher.startPoll();
  }
  return watcher;
}
