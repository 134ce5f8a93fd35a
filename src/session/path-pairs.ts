import { isIP } from 'node:net';
import type { Endpoint } from './options.js';

/**
 * The client's desired set of flowpaths: one per (local address, server address) pair, with
 * one backoff rule for pairs that failed. Pure bookkeeping: the client driver opens what
 * `wanted` names and arms the retry timers `retryDelayMs` gives.
 */
export interface PathPair {
  key: string;
  local: string | undefined;
  remote: Endpoint;
  /** The live flowpath on this pair, if any. */
  pathId: number | undefined;
  opening: boolean;
  /** Consecutive failures: the retry delay doubles with each. */
  failures: number;
  /** Cancels the pending retry, when one is armed. */
  retry: (() => void) | undefined;
  /** removePath() was called: do not open it again. */
  removed: boolean;
  /** Opened by addPath() rather than from localAddresses × server addresses. */
  explicit: boolean;
}

/** Longest wait between tries of one pair. */
export const MAX_RETRY_MS = 30_000;

export function pairKey(local: string | undefined, remote: Endpoint): string {
  return `${local ?? '*'}>${remote.host}:${remote.port}`;
}

/** ρ·2ⁿ after n consecutive failures, at most MAX_RETRY_MS. */
export function retryDelayMs(failures: number, retryIntervalMs: number): number {
  return Math.min(MAX_RETRY_MS, retryIntervalMs * 2 ** Math.min(failures, 10));
}

export class PathPairs {
  private readonly pairs = new Map<string, PathPair>();

  constructor(private readonly maxFlowpaths: number) {}

  /** The pair of a local and a server address, made on first use. */
  of(local: string | undefined, remote: Endpoint, explicit = false): PathPair {
    const key = pairKey(local, remote);
    let pair = this.pairs.get(key);
    if (!pair) {
      pair = {
        key,
        local,
        remote: { host: remote.host, port: remote.port },
        pathId: undefined,
        opening: false,
        failures: 0,
        retry: undefined,
        removed: false,
        explicit,
      };
      this.pairs.set(key, pair);
    }
    return pair;
  }

  /** Pairs with a flowpath or one being opened: what counts against maxFlowpaths. */
  get live(): number {
    let n = 0;
    for (const pair of this.pairs.values()) if (pair.pathId !== undefined || pair.opening) n++;
    return n;
  }

  get full(): boolean {
    return this.live >= this.maxFlowpaths;
  }

  /** The pairs whose flowpath has this id (one, normally). */
  withPath(pathId: number): PathPair[] {
    return [...this.pairs.values()].filter((p) => p.pathId === pathId);
  }

  /** A resume: the session's only flowpath is now `pathId` on this pair. */
  resumedOn(pair: PathPair, pathId: number): void {
    for (const p of this.pairs.values()) p.pathId = undefined;
    pair.pathId = pathId;
  }

  /**
   * The pairs to open now, in order, within maxFlowpaths. Pairs are taken in rounds, every
   * local address once per round, each with the server address that looks most its own
   * (longest common prefix, then the i-th for the i-th): with maxFlowpaths equal to the
   * number of local addresses, Wi-Fi goes to the server's Wi-Fi side and the modem to its
   * other address, not both to the first.
   */
  wanted(locals: readonly (string | undefined)[], remotes: readonly Endpoint[]): PathPair[] {
    const unique = remotes.filter(
      (r, i, all) => all.findIndex((o) => o.host === r.host && o.port === r.port) === i,
    );
    const ranked = locals.map((local, i) =>
      unique
        .filter((r) => local === undefined || isIP(local) === isIP(r.host)) // no v4 → v6
        .map((r, j) => ({
          r,
          prefix: local === undefined ? 0 : commonPrefixBits(local, r.host),
          turn: (j - i + unique.length) % unique.length,
        }))
        .sort((a, b) => b.prefix - a.prefix || a.turn - b.turn)
        .map((x) => x.r),
    );
    const out: PathPair[] = [];
    let live = this.live;
    for (let round = 0; round < unique.length; round++) {
      for (const [i, local] of locals.entries()) {
        const remote = ranked[i]?.[round];
        if (!remote) continue;
        const pair = this.of(local, remote);
        if (pair.removed || pair.pathId !== undefined || pair.opening || pair.retry) continue;
        if (live >= this.maxFlowpaths) return out;
        out.push(pair);
        live++;
      }
    }
    return out;
  }

  /** Cancels every pending retry (the session ended). */
  stop(): void {
    for (const pair of this.pairs.values()) {
      pair.retry?.();
      pair.retry = undefined;
    }
  }
}

/** Leading bits two IPv4 addresses share (0 for anything else). */
export function commonPrefixBits(a: string, b: string): number {
  if (isIP(a) !== 4 || isIP(b) !== 4) return 0;
  const n = (ip: string) => ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const x = (n(a) ^ n(b)) >>> 0;
  return x === 0 ? 32 : Math.clz32(x);
}
