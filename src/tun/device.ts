import { closeSync } from 'node:fs';
import { RoamError } from '../errors.js';
import { loadNative } from '../native/addon.js';

export type TunMode = 'tun' | 'tap';

export interface TunDevice {
  /** Non-blocking, close-on-exec fd; one read() is one packet (tun) or frame (tap). */
  readonly fd: number;
  readonly name: string;
  readonly mode: TunMode;
}

export interface OpenTunOptions {
  name: string;
  mode: TunMode;
  /** Network namespace name (a file in /run/netns, as `ip netns add` makes). */
  netns?: string;
  /**
   * Transmit queue length: frames the kernel buffers for our read(). The kernel default
   * (500-1000) drops bursts above a few hundred Mbit/s; 10000 avoids that.
   */
  txQueueLen?: number;
}

const NAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;
// A file name in /run/netns, never a path.
const NETNS_RE = /^[A-Za-z0-9_.-]{1,64}$/;

const HINTS: Record<string, string> = {
  EPERM: 'needs root (CAP_NET_ADMIN)',
  EACCES: 'needs root: /dev/net/tun is usually mode 0600',
  EBUSY: 'another process has this device open; close it or pick another name',
  EINVAL: 'an interface with this name exists and is not a tun/tap of this mode',
  ENODEV: 'the tun module is not available (modprobe tun)',
};

function hint(err: { code?: string; syscall?: string }, opts: OpenTunOptions): string {
  if (err.code === 'ENOENT' && err.syscall === 'open netns') {
    return `network namespace '${opts.netns}' does not exist (see ip netns list)`;
  }
  if (err.code === 'ENOENT') return '/dev/net/tun is missing (modprobe tun)';
  return HINTS[err.code ?? ''] ?? 'see the errno above';
}

/** Creates (or attaches to) a tun/tap device, optionally inside a named network namespace. */
export function openTun(opts: OpenTunOptions): TunDevice {
  const { name, mode, netns, txQueueLen } = opts;
  if (typeof name !== 'string' || !NAME_RE.test(name) || name === '.' || name === '..') {
    throw new RoamError(
      'ROAM_BAD_INPUT',
      `bad interface name '${String(name)}': use 1-15 characters from A-Z a-z 0-9 _ . -`,
    );
  }
  if (mode !== 'tun' && mode !== 'tap') {
    throw new RoamError('ROAM_BAD_INPUT', `mode must be 'tun' or 'tap', got '${String(mode)}'`);
  }
  if (netns !== undefined && (!NETNS_RE.test(netns) || netns === '.' || netns === '..')) {
    throw new RoamError('ROAM_BAD_INPUT', `bad network namespace name '${netns}'`);
  }
  if (txQueueLen !== undefined && (!Number.isInteger(txQueueLen) || txQueueLen < 1)) {
    throw new RoamError(
      'ROAM_BAD_INPUT',
      `txQueueLen must be a positive integer, got ${txQueueLen}`,
    );
  }
  const nsPath = netns === undefined ? null : `/run/netns/${netns}`;
  try {
    const dev = loadNative().openTun(name, mode === 'tap', nsPath, txQueueLen);
    return { fd: dev.fd, name: dev.name, mode };
  } catch (err) {
    if (err instanceof RoamError) throw err;
    const e = err as { code?: string; syscall?: string; message?: string };
    throw new RoamError(
      'ROAM_TUN_OPEN',
      `cannot open ${mode} '${name}'${netns ? ` in netns ${netns}` : ''}: ${e.message}; ${hint(e, opts)}`,
      { cause: err },
    );
  }
}

const closed = new WeakSet<TunDevice>();

/**
 * Closes the device fd (a non-persistent device disappears with it). Idempotent, so a
 * double close cannot hit an fd number the process has since reused. Close any DelayLine
 * using the fd first.
 */
export function closeTun(dev: TunDevice): void {
  if (closed.has(dev)) return;
  closed.add(dev);
  closeSync(dev.fd);
}
