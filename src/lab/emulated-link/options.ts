import { performance } from 'node:perf_hooks';
import { RoamError } from '../../errors.js';

export interface HostPort {
  host: string;
  port: number;
}

export interface EmulatedLinkOptions {
  /** Where every accepted connection is forwarded. */
  target: HostPort;
  /** Where the link listens; default 127.0.0.1 on an ephemeral port. */
  listen?: { host?: string; port?: number };
  /** One-way propagation delay applied to both directions, ms; default 0. */
  delayMs?: number;
  /** Bottleneck rate of each direction, bits of payload per second; default Infinity. */
  rateBitsPerSec?: number;
  upDelayMs?: number;
  downDelayMs?: number;
  upRateBitsPerSec?: number;
  downRateBitsPerSec?: number;
  /** Bytes in flight inside the emulator per direction per connection; default 256 KiB. */
  bufferBytes?: number;
  /** Shown in error messages and logs. */
  name?: string;
  /** Clock in ms; default performance.now. */
  now?: () => number;
}

/** What one direction of the path currently looks like; mutated by setDelay/setRate. */
export interface PathParams {
  delayMs: number;
  rateBitsPerSec: number;
}

export interface ResolvedOptions {
  target: HostPort;
  listen: HostPort;
  up: PathParams;
  down: PathParams;
  bufferBytes: number;
  name: string;
  now: () => number;
}

export function checkDelay(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RoamError(
      'ROAM_BAD_INPUT',
      `${name} must be a finite number >= 0, got ${fmt(value)}`,
    );
  }
  return value;
}

export function checkRate(name: string, value: unknown): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value <= 0) {
    throw new RoamError(
      'ROAM_BAD_INPUT',
      `${name} must be a number > 0 (Infinity for no limit), got ${fmt(value)}`,
    );
  }
  return value;
}

function checkPort(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > 65535) {
    throw new RoamError(
      'ROAM_BAD_INPUT',
      `${name} must be an integer ${min}..65535, got ${fmt(value)}`,
    );
  }
  return value;
}

function checkHost(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new RoamError(
      'ROAM_BAD_INPUT',
      `${name} must be a non-empty host string, got ${fmt(value)}`,
    );
  }
  return value;
}

function fmt(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

export function resolveOptions(opts: EmulatedLinkOptions): ResolvedOptions {
  if (typeof opts !== 'object' || opts === null || typeof opts.target !== 'object') {
    throw new RoamError('ROAM_BAD_INPUT', 'target { host, port } is required');
  }
  const delay = checkDelay('delayMs', opts.delayMs ?? 0);
  const rate = checkRate('rateBitsPerSec', opts.rateBitsPerSec ?? Number.POSITIVE_INFINITY);
  const bufferBytes = opts.bufferBytes ?? 256 * 1024;
  if (!Number.isInteger(bufferBytes) || bufferBytes < 1) {
    throw new RoamError(
      'ROAM_BAD_INPUT',
      `bufferBytes must be an integer >= 1, got ${fmt(bufferBytes)}`,
    );
  }
  if (opts.now !== undefined && typeof opts.now !== 'function') {
    throw new RoamError('ROAM_BAD_INPUT', 'now must be a function returning milliseconds');
  }
  return {
    target: {
      host: checkHost('target.host', opts.target.host),
      port: checkPort('target.port', opts.target.port, 1),
    },
    listen: {
      host: checkHost('listen.host', opts.listen?.host ?? '127.0.0.1'),
      port: checkPort('listen.port', opts.listen?.port ?? 0, 0),
    },
    up: {
      delayMs: checkDelay('upDelayMs', opts.upDelayMs ?? delay),
      rateBitsPerSec: checkRate('upRateBitsPerSec', opts.upRateBitsPerSec ?? rate),
    },
    down: {
      delayMs: checkDelay('downDelayMs', opts.downDelayMs ?? delay),
      rateBitsPerSec: checkRate('downRateBitsPerSec', opts.downRateBitsPerSec ?? rate),
    },
    bufferBytes,
    name: opts.name ?? 'link',
    now: opts.now ?? (() => performance.now()),
  };
}
