import { type NamesClock, systemClock } from '../clock.js';
import { namesError } from '../codes.js';
import type { RateSpec } from './rate-limit.js';

/** The server's limits. Every one is a bound on what a client can make the server hold. */
export interface NamesServerConfig {
  host: string;
  port: number;
  /** Largest request body (a record is at most 8 KiB in canonical form). */
  maxBodyBytes: number;
  /** Lookups, list-devices and watch opens, per source address. */
  readRate: RateSpec;
  /** Writes and heartbeats, per source address (charged before the body is read). */
  writeRatePerSource: RateSpec;
  /** Writes and heartbeats, per signing key (charged once the signature verified). */
  writeRatePerKey: RateSpec;
  /** Open watch streams per source address. */
  maxWatchesPerSource: number;
  /** Names and owners one watch may follow. */
  maxNamesPerWatch: number;
  keepaliveMs: number;
  /** A watcher with more than this queued (not reading) is cut; it resumes on reconnect. */
  maxSseBufferBytes: number;
  clock: NamesClock;
}

export const defaultServerConfig: NamesServerConfig = {
  host: '127.0.0.1',
  port: 7447,
  maxBodyBytes: 16 * 1024,
  readRate: { perSecond: 5000, burst: 10_000 },
  writeRatePerSource: { perSecond: 50, burst: 200 },
  writeRatePerKey: { perSecond: 10, burst: 40 },
  maxWatchesPerSource: 64,
  maxNamesPerWatch: 256,
  keepaliveMs: 15_000,
  maxSseBufferBytes: 1024 * 1024,
  clock: systemClock,
};

export function verifyServerConfig(partial: Partial<NamesServerConfig>): NamesServerConfig {
  const c = { ...defaultServerConfig, ...partial };
  const bad = (what: string) => {
    throw namesError('ROAM_NAMES_CONFIG', `names server option ${what}`);
  };
  if (!Number.isInteger(c.port) || c.port < 0 || c.port > 65535)
    bad(`port must be 0..65535, not ${c.port}`);
  if (!(c.maxBodyBytes >= 1024))
    bad('maxBodyBytes must be at least 1024 (a record is up to 8 KiB)');
  for (const [k, r] of [
    ['readRate', c.readRate],
    ['writeRatePerSource', c.writeRatePerSource],
    ['writeRatePerKey', c.writeRatePerKey],
  ] as const)
    if (!(r.perSecond > 0 && r.burst >= 1)) bad(`${k} needs perSecond > 0 and burst >= 1`);
  if (!(c.maxWatchesPerSource >= 1 && c.maxNamesPerWatch >= 1))
    bad('watch limits must be at least 1');
  if (!(c.keepaliveMs >= 10)) bad('keepaliveMs must be at least 10');
  return c;
}
