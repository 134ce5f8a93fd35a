import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import { RoamError } from '../errors.js';
import { type Clock, systemClock } from '../clock/clock.js';
import { rootLogger } from '../log/logger.js';
import type { SchedulerName, SchedulerOptions } from '../multipath/scheduler.js';
import type { PathPolicy } from '../multipath/policy.js';
import {
  type AddressWatcher,
  watchAddresses,
  type WatchAddressesOptions,
} from './address-watcher.js';
import type { AddressChange, LocalAddress } from './local-addresses.js';
import {
  type AddressVerdict,
  classify,
  type MobilityPolicy,
  type MobilityPolicyInput,
  parsePolicy,
  sessionPlan,
} from './policy.js';

/**
 * The mobility manager: keeps each client session it manages on the host's usable
 * addresses. A new address (a network appears) gets a flowpath at once; a flowpath whose
 * address vanished is removed at once (its unacknowledged bytes go on the other flowpaths),
 * without waiting for a liveness timeout; the policy says which addresses are usable and in
 * which role, and can change while sessions run (`setPolicy`).
 *
 * Manager:   running ──close()──▶ closed
 * Per session and address (a "slot"):
 *   (none) ──usable──▶ opening ──ok──▶ open ──path down / address gone──▶ (none)
 *                         │  ▲                      └──path down, still usable──▶ waiting
 *                         ▼  └────── retry timer ─────────────────────────────────┘
 *                      waiting (backoff 50 ms · 2^n, at most 5 s)
 */
export type ManagerState = 'running' | 'closed';
export type SlotState = 'opening' | 'open' | 'waiting';

/** The parts of an address watcher the manager uses (AddressWatcher, or a fake in tests). */
export interface AddressSource {
  addresses(): LocalAddress[];
  on(event: 'change', listener: (change: AddressChange) => void): unknown;
  off(event: 'change', listener: (change: AddressChange) => void): unknown;
  close(): void;
}

/** The parts of a client Session the manager uses (a Session, or a fake in tests). */
export interface ManagedSession {
  readonly state: string;
  readonly id: string;
  readonly paths: readonly {
    pathId: number;
    state: string;
    localAddress: string | undefined;
  }[];
  readonly remoteAddress: string | undefined;
  readonly scheduler: SchedulerName;
  addPath(opts: { localAddress?: string }): Promise<{ pathId: number }>;
  removePath(pathId: number): void;
  migrate(): void;
  setScheduler(name: SchedulerName, opts?: SchedulerOptions): void;
  setPathPolicy(policy: PathPolicy): void;
  on(event: string, listener: Listener): unknown;
  off(event: string, listener: Listener): unknown;
}

// Session's own signature (EventEmitter's): listeners take anything.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Listener = (...args: any[]) => void;

export interface MobilityManagerOptions {
  /** Which addresses, in which roles (see policy.ts). Default: every address, primary. */
  policy?: MobilityPolicyInput;
  /** An address source to use (the manager closes it on close()); default: watchAddresses(watch). */
  watcher?: AddressSource;
  /** Options of the watcher the manager starts (netlink or poll, interval). */
  watch?: WatchAddressesOptions;
  clock?: Clock;
  /** First retry delay after a failed open, ms (doubles, at most maxRetryMs). Default 50. */
  retryMs?: number;
  /** Default 5000. */
  maxRetryMs?: number;
}

export interface PathEvent {
  session: string;
  address: string;
  pathId: number;
  /** ms from the address event (or policy change) that caused it. */
  ms: number;
}

export interface ManagerEvents {
  /** A flowpath opened on a (new) address. */
  'path-added': [PathEvent];
  /** A flowpath was removed: its address vanished or the policy no longer allows it. */
  'path-removed': [PathEvent & { reason: 'vanished' | 'policy' }];
  /** An open failed; it is retried after `retryInMs`. */
  'path-failed': [{ session: string; address: string; code: string; retryInMs: number }];
  /** The host's addresses changed (as the watcher reported it). */
  change: [AddressChange];
  /** A session's last flowpath was on a vanished address with nothing to move to: migrate(). */
  migrate: [{ session: string; address: string }];
  policy: [MobilityPolicy];
}

interface Slot {
  state: SlotState;
  pathId: number | undefined;
  failures: number;
  /** Cancels the retry timer. */
  timer: (() => void) | undefined;
  /** When the event that asked for this flowpath happened. */
  since: number;
  openedAt: number;
}

interface Managed {
  session: ManagedSession;
  /** The scheduler the session had before the manager took it (used while no backups exist). */
  baseScheduler: SchedulerName;
  slots: Map<string, Slot>;
  /** Paths to remove once another is open (they were the last one). */
  doomed: Map<number, { address: string; reason: 'vanished' | 'policy'; since: number }>;
  listeners: [string, Listener][];
  lastPlan: string;
}

/** A path that lived this long resets its address's failure count when it dies. */
const STABLE_MS = 10_000;

export class MobilityManager extends EventEmitter<ManagerEvents> {
  private _state: ManagerState = 'running';
  private _policy: MobilityPolicy;
  private readonly sessions = new Map<ManagedSession, Managed>();
  /** Addresses the watcher has reported: only paths on these are ever removed as vanished. */
  private readonly seen = new Set<string>();
  /** When each address was last added or removed (the start of a reaction). */
  private readonly changedAt = new Map<string, number>();
  private readonly clock: Clock;
  private readonly retryMs: number;
  private readonly maxRetryMs: number;
  private readonly onChange = (change: AddressChange) => this.handleChange(change);

  constructor(
    private readonly watcher: AddressSource,
    opts: Omit<MobilityManagerOptions, 'watcher' | 'watch'> = {},
  ) {
    super();
    this._policy = parsePolicy(opts.policy);
    this.clock = opts.clock ?? systemClock;
    this.retryMs = positive(opts.retryMs ?? 50, 'retryMs');
    this.maxRetryMs = positive(opts.maxRetryMs ?? 5000, 'maxRetryMs');
    for (const a of watcher.addresses()) this.seen.add(a.address);
    watcher.on('change', this.onChange);
  }

  get state(): ManagerState {
    return this._state;
  }

  get policy(): MobilityPolicy {
    return this._policy;
  }

  /** The host's addresses now, each with what the policy makes of it. */
  addresses(): (LocalAddress & { verdict: AddressVerdict })[] {
    return this.watcher.addresses().map((a) => ({ ...a, verdict: classify(this._policy, a) }));
  }

  /** The slot state of each address of a managed session (for status displays and tests). */
  slots(session: ManagedSession): Record<string, SlotState> {
    const m = this.sessions.get(session);
    const out: Record<string, SlotState> = {};
    for (const [address, slot] of m?.slots ?? []) out[address] = slot.state;
    return out;
  }

  /** Takes a client session under management (until it closes or release()). */
  manage(session: ManagedSession): void {
    if (this._state === 'closed')
      throw new RoamError('ROAM_BAD_INPUT', 'the mobility manager is closed');
    if (this.sessions.has(session) || session.state === 'closed') return;
    const m: Managed = {
      session,
      baseScheduler: session.scheduler,
      slots: new Map(),
      doomed: new Map(),
      listeners: [],
      lastPlan: '',
    };
    this.sessions.set(session, m);
    const listen = (event: string, fn: Listener) => {
      session.on(event, fn);
      m.listeners.push([event, fn]);
    };
    listen('connect', () => this.reconcile(m));
    listen('migrated', () => this.reconcile(m));
    listen('path-up', () => this.reconcile(m));
    listen('path-down', (info: { pathId: number; localAddress?: string }) =>
      this.onPathDown(m, info),
    );
    listen('close', () => this.release(session));
    this.reconcile(m);
  }

  /** Stops managing a session (its flowpaths stay as they are). */
  release(session: ManagedSession): void {
    const m = this.sessions.get(session);
    if (!m) return;
    this.sessions.delete(session);
    for (const [event, fn] of m.listeners) session.off(event, fn);
    for (const slot of m.slots.values()) slot.timer?.();
    m.slots.clear();
  }

  /**
   * Replaces the policy; live sessions follow at once: flowpaths on addresses now `never`
   * are removed, newly usable addresses get one, roles and costs go to the schedulers.
   */
  setPolicy(input: MobilityPolicyInput): void {
    if (this._state === 'closed')
      throw new RoamError('ROAM_BAD_INPUT', 'the mobility manager is closed');
    this._policy = parsePolicy(input);
    const now = this.clock.now();
    for (const a of this.watcher.addresses()) this.changedAt.set(a.address, now);
    this.emit('policy', this._policy);
    for (const m of this.sessions.values()) this.reconcile(m);
  }

  close(): void {
    if (this._state === 'closed') return;
    this._state = 'closed';
    this.watcher.off('change', this.onChange);
    this.watcher.close();
    for (const session of [...this.sessions.keys()]) this.release(session);
  }

  // ---- reactions ---------------------------------------------------------------------------

  private handleChange(change: AddressChange): void {
    if (this._state === 'closed') return;
    const now = this.clock.now();
    for (const a of [...change.added, ...change.removed]) this.changedAt.set(a.address, now);
    for (const a of change.added) this.seen.add(a.address);
    this.emit('change', change);
    for (const m of this.sessions.values()) this.reconcile(m);
    this.pruneSeen();
  }

  private onPathDown(m: Managed, info: { pathId: number; localAddress?: string }): void {
    m.doomed.delete(info.pathId);
    for (const [address, slot] of m.slots) {
      if (slot.pathId !== info.pathId) continue;
      m.slots.delete(address);
      const lived = this.clock.now() - slot.openedAt;
      const failures = lived >= STABLE_MS ? 0 : slot.failures + 1;
      // Still usable: open it again, after a backoff so a path that dies at once cannot spin.
      if (this.usable(m).some((a) => a.address === address))
        this.wait(m, address, failures, this.clock.now());
    }
    this.reconcile(m);
  }

  /** Brings one session in line with the addresses and the policy. */
  private reconcile(m: Managed): void {
    const { session } = m;
    if (this._state === 'closed' || session.state === 'closed') return;
    if (session.state !== 'open') return; // again on 'connect' / 'migrated'
    const present = new Set(this.watcher.addresses().map((a) => a.address));
    const usable = this.usable(m);
    const usableSet = new Set(usable.map((a) => a.address));
    const open = session.paths.filter((p) => p.state === 'open' && p.localAddress !== undefined);

    // Paths on vanished addresses, or on addresses the policy now excludes.
    for (const p of open) {
      const address = p.localAddress as string;
      if (!this.seen.has(address)) continue; // not the watcher's: leave it alone
      if (usableSet.has(address)) continue;
      const reason = present.has(address) ? 'policy' : 'vanished';
      if (!m.doomed.has(p.pathId))
        m.doomed.set(p.pathId, {
          address,
          reason,
          since: this.changedAt.get(address) ?? this.clock.now(),
        });
    }
    // Slots whose address is no longer usable stop trying.
    for (const [address, slot] of m.slots) {
      if (usableSet.has(address) || slot.state === 'open') continue;
      slot.timer?.();
      m.slots.delete(address);
    }
    // New flowpaths on usable addresses that have none.
    const covered = new Set(open.map((p) => p.localAddress));
    for (const a of usable) {
      const slot = m.slots.get(a.address);
      if (covered.has(a.address)) {
        // The client driver (or the application) opened it: adopt it.
        if (!slot) {
          const pathId = open.find((p) => p.localAddress === a.address)?.pathId;
          m.slots.set(a.address, {
            state: 'open',
            pathId,
            failures: 0,
            timer: undefined,
            since: this.clock.now(),
            openedAt: this.clock.now(),
          });
        }
        continue;
      }
      if (slot && (slot.state === 'opening' || slot.state === 'waiting')) continue;
      if (slot?.state === 'open') m.slots.delete(a.address); // its path is gone
      this.open(m, a.address, 0, this.changedAt.get(a.address) ?? this.clock.now());
    }
    this.removeDoomed(m);
    this.applyPlan(m, usable);
  }

  /** Removes doomed paths; the last open one stays until another is up, or migrates. */
  private removeDoomed(m: Managed): void {
    const { session } = m;
    for (const [pathId, d] of [...m.doomed]) {
      const open = session.paths.filter((p) => p.state === 'open');
      if (!open.some((p) => p.pathId === pathId)) {
        m.doomed.delete(pathId);
        continue;
      }
      if (open.length > 1) {
        m.doomed.delete(pathId);
        this.dropSlotOf(m, pathId);
        try {
          session.removePath(pathId);
        } catch (err) {
          // It closed meanwhile (a nested reaction got there first): nothing left to do.
          rootLogger().debug({ pathId, err: (err as Error).message }, 'mobility: removePath');
          continue;
        }
        this.emit('path-removed', {
          session: session.id,
          address: d.address,
          pathId,
          ms: this.clock.now() - d.since,
          reason: d.reason,
        });
        continue;
      }
      // The last flowpath. Something opening elsewhere will take over (then it goes); with
      // nothing to open and its address gone, the session migrates (the client reconnects
      // from whatever address routes to the server).
      const replacing = [...m.slots.values()].some((s) => s.state !== 'open');
      if (!replacing && d.reason === 'vanished') {
        m.doomed.delete(pathId);
        this.dropSlotOf(m, pathId);
        this.emit('migrate', { session: session.id, address: d.address });
        session.migrate();
        return;
      }
    }
  }

  private dropSlotOf(m: Managed, pathId: number): void {
    for (const [address, slot] of m.slots)
      if (slot.pathId === pathId) {
        slot.timer?.();
        m.slots.delete(address);
      }
  }

  private open(m: Managed, address: string, failures: number, since: number): void {
    const slot: Slot = {
      state: 'opening',
      pathId: undefined,
      failures,
      timer: undefined,
      since,
      openedAt: 0,
    };
    m.slots.set(address, slot);
    m.session.addPath({ localAddress: address }).then(
      (info) => {
        if (m.slots.get(address) !== slot) return; // released, or the address went meanwhile
        slot.state = 'open';
        slot.pathId = info.pathId;
        slot.openedAt = this.clock.now();
        this.emit('path-added', {
          session: m.session.id,
          address,
          pathId: info.pathId,
          ms: slot.openedAt - since,
        });
        this.reconcile(m);
      },
      (err: unknown) => {
        if (m.slots.get(address) !== slot) return;
        m.slots.delete(address);
        const code = err instanceof RoamError ? err.code : 'ROAM_CONNECT_FAILED';
        const delay = this.wait(m, address, failures + 1, since);
        this.emit('path-failed', { session: m.session.id, address, code, retryInMs: delay });
        rootLogger().debug(
          { session: m.session.id, address, code, err: (err as Error).message, retryInMs: delay },
          'mobility: flowpath open failed',
        );
      },
    );
  }

  /** The slot waits `backoff(failures)` ms, then opens again if the address is still usable. */
  private wait(m: Managed, address: string, failures: number, since: number): number {
    const delay = Math.min(this.maxRetryMs, this.retryMs * 2 ** Math.min(failures - 1, 20));
    const slot: Slot = {
      state: 'waiting',
      pathId: undefined,
      failures,
      timer: undefined,
      since,
      openedAt: 0,
    };
    slot.timer = this.clock.after(Math.max(0, delay), () => {
      if (m.slots.get(address) !== slot || !this.sessions.has(m.session)) return;
      m.slots.delete(address);
      if (m.session.state !== 'open') return; // reconcile runs again on 'migrated'
      const present = m.session.paths.some((p) => p.state === 'open' && p.localAddress === address);
      if (!present && this.usable(m).some((a) => a.address === address))
        this.open(m, address, failures, since);
      else this.reconcile(m);
    });
    m.slots.set(address, slot);
    return delay;
  }

  /** Addresses this session may use: allowed by the policy, same family as the server. */
  private usable(m: Managed): (LocalAddress & { verdict: AddressVerdict })[] {
    const remoteFamily = isIP(m.session.remoteAddress ?? '');
    return this.addresses().filter(
      (a) => a.verdict.role !== 'never' && (remoteFamily === 0 || a.family === remoteFamily),
    );
  }

  /** Roles and costs to the session's scheduler, when they changed. */
  private applyPlan(m: Managed, usable: (LocalAddress & { verdict: AddressVerdict })[]): void {
    const plan = sessionPlan(
      this._policy,
      usable.map((a) => ({ address: a.address, verdict: a.verdict })),
    );
    const key = JSON.stringify([plan, m.baseScheduler]);
    if (key === m.lastPlan) return;
    m.lastPlan = key;
    m.session.setPathPolicy(plan.pathPolicy);
    const { prefer, demandMs } = plan.pathPolicy;
    if (plan.useBackupScheduler) m.session.setScheduler('backup', { backup: { prefer, demandMs } });
    else if (m.session.scheduler !== m.baseScheduler) m.session.setScheduler(m.baseScheduler);
  }

  private pruneSeen(): void {
    const present = new Set(this.watcher.addresses().map((a) => a.address));
    const inUse = new Set<string>();
    for (const m of this.sessions.values())
      for (const p of m.session.paths) if (p.localAddress) inUse.add(p.localAddress);
    for (const address of this.seen) {
      if (present.has(address) || inUse.has(address)) continue;
      this.seen.delete(address);
      this.changedAt.delete(address);
    }
  }
}

function positive(v: number, name: string): number {
  if (!Number.isFinite(v) || v <= 0)
    throw new RoamError('ROAM_BAD_INPUT', `${name} must be a positive number of ms, got ${v}`);
  return v;
}

/**
 * Starts a mobility manager: with the given address source, or a watcher of its own
 * (netlink by default, see watchAddresses).
 */
export async function createMobilityManager(
  opts: MobilityManagerOptions = {},
): Promise<MobilityManager> {
  // Validate before starting anything that would need stopping.
  parsePolicy(opts.policy);
  positive(opts.retryMs ?? 50, 'retryMs');
  positive(opts.maxRetryMs ?? 5000, 'maxRetryMs');
  const watcher: AddressSource | AddressWatcher =
    opts.watcher ?? (await watchAddresses(opts.watch));
  try {
    return new MobilityManager(watcher, opts);
  } catch (err) {
    watcher.close();
    throw err;
  }
}
