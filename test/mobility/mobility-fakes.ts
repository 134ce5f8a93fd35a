import { EventEmitter } from 'node:events';
import { diffAddresses, type LocalAddress } from '../../src/mobility/local-addresses.js';
import type { SchedulerName, SchedulerOptions } from '../../src/multipath/scheduler.js';
import type { PathPolicy } from '../../src/multipath/policy.js';

export const addr = (iface: string, address: string, prefixLength = 24): LocalAddress => ({
  interface: iface,
  address,
  family: address.includes(':') ? 6 : 4,
  prefixLength,
});

/** An address source whose addresses the test sets; 'change' like the real watcher. */
export class FakeWatcher extends EventEmitter {
  closed = false;
  constructor(private list: LocalAddress[] = []) {
    super();
  }
  addresses(): LocalAddress[] {
    return [...this.list];
  }
  set(next: LocalAddress[]): void {
    const change = diffAddresses(this.list, next);
    this.list = [...next];
    if (change.added.length || change.removed.length) this.emit('change', change);
  }
  close(): void {
    this.closed = true;
  }
}

/** A timer list advanced by hand. */
export { ManualClock } from '../../src/clock/manual-clock.js';

interface Pending {
  localAddress: string;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** A client session as the manager sees it: the test decides when opens succeed. */
export class FakeSession extends EventEmitter {
  state = 'open';
  readonly id = 'fake';
  paths: { pathId: number; state: string; localAddress: string | undefined }[] = [];
  remoteAddress: string | undefined = '192.0.2.1';
  scheduler: SchedulerName = 'aggregate';
  pathPolicy: PathPolicy | undefined;
  schedulerOpts: SchedulerOptions | undefined;
  readonly adds: string[] = [];
  readonly removed: number[] = [];
  pending: Pending[] = [];
  migrations = 0;
  private nextId = 1;

  constructor(initial: string[] = []) {
    super();
    for (const a of initial)
      this.paths.push({ pathId: this.nextId++, state: 'open', localAddress: a });
  }

  addPath(opts: { localAddress?: string }): Promise<{ pathId: number }> {
    const localAddress = opts.localAddress as string;
    this.adds.push(localAddress);
    return new Promise((resolve, reject) => {
      this.pending.push({
        localAddress,
        resolve: () => {
          const p = { pathId: this.nextId++, state: 'open', localAddress };
          this.paths.push(p);
          this.emit('path-up', p);
          resolve({ pathId: p.pathId });
        },
        reject,
      });
    });
  }

  /** Settles the oldest pending open of `address`. */
  async settle(address: string, err?: Error): Promise<void> {
    const i = this.pending.findIndex((p) => p.localAddress === address);
    const p = this.pending[i];
    if (!p) throw new Error(`no pending open of ${address}`);
    this.pending.splice(i, 1);
    if (err) p.reject(err);
    else p.resolve();
    // Let the manager's promise handlers run.
    await new Promise((r) => setImmediate(r));
  }

  removePath(pathId: number): void {
    const open = this.paths.filter((p) => p.state === 'open');
    const path = open.find((p) => p.pathId === pathId);
    if (!path) throw new Error(`no path ${pathId}`);
    if (open.length <= 1) throw new Error('last path');
    this.removed.push(pathId);
    this.paths = this.paths.filter((p) => p !== path);
    this.emit('path-down', path, 'removed');
  }

  /** A path dies by itself (the network dropped it). */
  kill(pathId: number): void {
    const path = this.paths.find((p) => p.pathId === pathId);
    if (!path) throw new Error(`no path ${pathId}`);
    this.paths = this.paths.filter((p) => p !== path);
    this.emit('path-down', path, 'dead');
  }

  migrate(): void {
    this.migrations++;
  }

  setScheduler(name: SchedulerName, opts?: SchedulerOptions): void {
    this.scheduler = name;
    this.schedulerOpts = opts;
  }

  setPathPolicy(policy: PathPolicy): void {
    this.pathPolicy = policy;
  }

  openAddresses(): string[] {
    return this.paths.filter((p) => p.state === 'open').map((p) => p.localAddress as string);
  }
}
