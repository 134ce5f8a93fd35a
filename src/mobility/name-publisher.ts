import { EventEmitter } from 'node:events';
import { isRoamError, RoamError } from '../errors.js';
import { rootLogger } from '../log/logger.js';
import type { NamesClient, PublishFields } from '../names/client/client.js';
import type { Address, Iface, NameRecord } from '../names/record.js';
import type { AddressWatcher } from './address-watcher.js';
import type { LocalAddress } from './local-addresses.js';

export interface NamePublisherOptions {
  /** A names client with the key that may write `name` (and `userKey` for a device name). */
  names: NamesClient;
  name: string;
  /** What to publish, read at each publish (addresses, control socket, attributes, …). */
  fields: () => Omit<PublishFields, 'name'>;
  /** Republish on every change of these addresses. */
  watcher?: AddressWatcher;
  /** Changes closer together than this make one publish (a renumber is an add and a delete). */
  debounceMs?: number;
  /** Tries per publish when the name server cannot be reached or is busy. */
  tries?: number;
  /** First delay between tries; it doubles. */
  retryDelayMs?: number;
  /** Called once by close() (owners release what they opened for the publisher). */
  onClose?: () => void;
}

export interface Published {
  record: NameRecord;
  /** From the change that asked for it to the server's answer. */
  ms: number;
  reason: string;
  tries: number;
}

/** Errors worth another try: the server is out of reach or busy. Others are final. */
const TRANSIENT = new Set([
  'ROAM_NAMES_UNREACHABLE',
  'ROAM_NAMES_RATE_LIMITED',
  'ROAM_NAMES_INTERNAL',
  'ROAM_NAMES_CONFLICT',
]);

/**
 * Keeps a name's record in step with where this host is: `update(reason)` (or a change of the
 * watched addresses) publishes the current fields, debounced, one publish at a time (a change
 * during a publish makes one more afterwards), each signed at a new, higher version by the
 * names client. Transient failures are retried a bounded number of times with backoff.
 * Emits 'published' and 'error'. `close()` cancels what is pending.
 *
 *   idle ──update──▶ debouncing ──debounceMs──▶ publishing ──answer──▶ idle
 *                                  ▲ update meanwhile: once more ◀──┘
 */
export class NamePublisher extends EventEmitter<{ published: [Published]; error: [Error] }> {
  private state: 'idle' | 'debouncing' | 'publishing' | 'closed' = 'idle';
  private again: { reason: string; since: number } | undefined;
  private pending: { reason: string; since: number } | undefined;
  private debounceTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private readonly onChange = () => {
    // Connections to the name server from a vanished address are silently dead.
    this.opts.names.addressChanged();
    this.update('addresses changed');
  };

  constructor(private readonly opts: NamePublisherOptions) {
    super();
    const tries = opts.tries ?? 5;
    if (!Number.isInteger(tries) || tries < 1 || tries > 100)
      throw new RoamError('ROAM_BAD_INPUT', `tries must be an integer within 1..100, got ${tries}`);
    opts.watcher?.on('change', this.onChange);
  }

  /** Publishes soon (after debounceMs), whatever is going on. */
  update(reason = 'update'): void {
    const at = { reason, since: performance.now() };
    switch (this.state) {
      case 'closed':
        return;
      case 'publishing':
        this.again ??= at;
        return;
      case 'debouncing':
        return;
      case 'idle':
        this.pending = at;
        this.state = 'debouncing';
        this.debounceTimer = setTimeout(() => void this.publish(), this.opts.debounceMs ?? 100);
    }
  }

  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.debounceTimer);
    clearTimeout(this.retryTimer);
    this.wake?.();
    this.opts.watcher?.off('change', this.onChange);
    this.opts.onClose?.();
  }

  private async publish(): Promise<void> {
    if (this.state !== 'debouncing' || !this.pending) return;
    const { reason, since } = this.pending;
    this.state = 'publishing';
    const tries = this.opts.tries ?? 5;
    let delay = this.opts.retryDelayMs ?? 200;
    for (let attempt = 1; ; attempt++) {
      try {
        const { record } = await this.opts.names.publish({
          ...this.opts.fields(),
          name: this.opts.name,
        });
        if (this.isClosed()) return;
        this.emit('published', { record, ms: performance.now() - since, reason, tries: attempt });
        break;
      } catch (err) {
        if (this.isClosed()) return;
        const transient = isRoamError(err) && TRANSIENT.has(err.code);
        if (!transient || attempt >= tries) {
          this.report(err as Error);
          break;
        }
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          this.retryTimer = setTimeout(resolve, delay);
        });
        this.wake = undefined;
        if (this.isClosed()) return;
        delay *= 2;
      }
    }
    this.state = 'idle';
    const again = this.again;
    this.again = undefined;
    if (again) {
      this.pending = again;
      this.state = 'debouncing';
      void this.publish();
    }
  }

  /** A background job: without an 'error' listener its failure is logged, not thrown. */
  private report(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else rootLogger().warn({ name: this.opts.name, err: err.message }, 'name publish failed');
  }

  private isClosed(): boolean {
    return this.state === 'closed';
  }
}

/** Guesses an interface's kind from its name (wlan0 → wifi, wwan0 → cellular, eth0 → ethernet). */
export function ifaceKind(name: string): Iface {
  if (/^(wl|wifi|ath|ra\d)/i.test(name)) return 'wifi';
  if (/^(ww|rmnet|cell|usb|ccmni|pdp)/i.test(name)) return 'cellular';
  if (/^(eth|en|em|eno|ens|enp)/i.test(name)) return 'ethernet';
  return 'other';
}

const PREFERENCE: Record<Iface, number> = { ethernet: 10, wifi: 20, cellular: 30, other: 40 };

/**
 * Record addresses for a service on `port` at each local address: kind guessed from the
 * interface name, priority ethernet < wifi < cellular < other (lower is preferred), IPv4
 * before IPv6 of the same kind. At most 16, the record's bound.
 */
export function addressesFor(
  locals: readonly LocalAddress[],
  port: number,
  kindOf: (iface: string) => Iface = ifaceKind,
): Address[] {
  return locals
    .map((l) => {
      const iface = kindOf(l.interface);
      return { ip: l.address, port, iface, priority: PREFERENCE[iface] + (l.family === 6 ? 5 : 0) };
    })
    .sort((a, b) => a.priority - b.priority)
    .slice(0, 16);
}
