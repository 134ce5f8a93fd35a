import { RoamError } from '../errors.js';

/**
 * Schedulers decide which flowpath carries the next chunk of the stream. They are pure:
 * they see a snapshot of every flowpath (PathView) and the time, and keep at most a little
 * state of their own (best-path's current choice). The multipath sender (sender.ts) does
 * the bookkeeping and asks them.
 */
export type SchedulerName = 'aggregate' | 'best-path' | 'redundant' | 'backup';
export const SCHEDULERS: readonly SchedulerName[] = [
  'aggregate',
  'best-path',
  'redundant',
  'backup',
];

export interface PathView {
  id: number;
  /** Open and not suspect: worth scheduling on. */
  alive: boolean;
  /** Alive and able to take a chunk now (socket not backed up, in flight under its cap). */
  ready: boolean;
  /** Bytes sent on it and not yet received by the peer. */
  inflight: number;
  /** Most bytes in flight the sender keeps on it. */
  cap: number;
  /** Delivery rate, bytes per ms (measured, or a first guess from the RTT). */
  rate: number;
  /** One-way delay estimate, ms (half the lowest RTT seen). */
  owdMs: number;
  /** Latency score for best-path: moving average of the last RTT samples, ms. */
  rttMs: number;
  /** Backup policy: this path is preferred (used first). */
  preferred: boolean;
  /** Backup policy: relative cost; cheaper backups are brought in first. */
  cost: number;
  /** Backup policy: the path carried its byte cap. */
  overCap: boolean;
}

export interface Scheduler {
  readonly name: SchedulerName;
  /** Every chunk goes on every flowpath (each has its own cursor into the stream). */
  readonly redundant: boolean;
  /**
   * The id of the ready flowpath that should carry the next `chunk` bytes, with `backlog`
   * bytes waiting to be sent in all; undefined to wait for a better one to have room.
   */
  pick(paths: readonly PathView[], chunk: number, backlog: number, now: number): number | undefined;
  /** May spare capacity of ready paths be used to re-send a slower path's bytes? */
  readonly reinjects: boolean;
  /** May this path carry re-sent copies now? Default: any ready path. */
  mayReinjectOn?(path: PathView, all: readonly PathView[]): boolean;
  /** Called when a single-path scheduler moves new data to another path. */
  /** Called on every change of the chosen path, with the clock reading that decided it. */
  onSwitch?: (from: number | undefined, to: number, at: number) => void;
}

/** When the chunk would arrive if sent on `p` now (ms from now). */
export function arrival(p: PathView, chunk: number): number {
  return (p.inflight + chunk) / p.rate + p.owdMs;
}

/**
 * Earliest-arrival striping (msocket §III-C, in the shape of ECF): the chunk goes on the
 * path where it arrives first. When that path is full, a slower path that has room gets it
 * only if it would still arrive before the faster paths could deliver everything waiting
 * (in flight on them plus the backlog): so a bulk transfer fills every path, each in
 * proportion to its rate, and they drain together; a short one stays on the fast path.
 */
export function pickEarliest(
  paths: readonly PathView[],
  chunk: number,
  backlog: number,
): number | undefined {
  const alive = paths.filter((p) => p.alive);
  if (alive.length === 0) return undefined;
  if (alive.length === 1) return alive[0]?.ready ? alive[0].id : undefined;
  const ranked = alive.map((p) => ({ p, at: arrival(p, chunk) })).sort((a, b) => a.at - b.at);
  const best = ranked[0];
  if (best === undefined) return undefined;
  if (best.p.ready) return best.p.id;
  let inflight = 0;
  let rate = 0;
  let owd = Infinity;
  for (const { p, at } of ranked) {
    if (p.ready && rate > 0) {
      const fasterDone = (inflight + backlog) / rate + owd;
      if (at <= fasterDone) return p.id;
    }
    inflight += p.inflight;
    rate += p.rate;
    owd = Math.min(owd, p.owdMs);
  }
  return undefined;
}

export interface BestPathOptions {
  /** Switch only to a path whose score is below (1 - hysteresis) × the current one's. Default 0.2. */
  hysteresis?: number;
  /** ... and lower by at least this many ms. Default 5. */
  marginMs?: number;
  /** Stay at least this long on a path after switching to it. Default 2000. */
  minDwellMs?: number;
}

export interface BackupOptions {
  /**
   * Paths whose local address, remote host or remote "host:port" is listed are preferred
   * (the session marks them; see PathPolicy).
   */
  prefer?: string[];
  /**
   * Bring in backups when the preferred paths would need longer than this to send what is
   * waiting (they cannot carry the demand). Default 500.
   */
  demandMs?: number;
}

export interface SchedulerOptions {
  bestPath?: BestPathOptions;
  backup?: BackupOptions;
}

class Aggregate implements Scheduler {
  readonly name = 'aggregate';
  readonly redundant = false;
  readonly reinjects = true;
  pick(paths: readonly PathView[], chunk: number, backlog: number): number | undefined {
    return pickEarliest(paths, chunk, backlog);
  }
}

/**
 * All data on the path with the lowest latency (the tunnel paper: probes, moving average of
 * 5), with hysteresis and a minimum dwell time so the choice cannot flap faster than that.
 */
export class BestPath implements Scheduler {
  readonly name = 'best-path';
  readonly redundant = false;
  readonly reinjects = true;
  readonly hysteresis: number;
  readonly marginMs: number;
  readonly minDwellMs: number;
  #current: number | undefined;
  #since = -Infinity;
  /** Switches made, for stats and tests. */
  switches = 0;

  constructor(opts: BestPathOptions = {}) {
    this.hysteresis = opts.hysteresis ?? 0.2;
    this.marginMs = opts.marginMs ?? 5;
    this.minDwellMs = opts.minDwellMs ?? 2000;
  }

  get current(): number | undefined {
    return this.#current;
  }

  /** Re-evaluates the choice; returns the chosen path id. */
  choose(paths: readonly PathView[], now: number): number | undefined {
    const alive = paths.filter((p) => p.alive);
    if (alive.length === 0) return undefined;
    const best = alive.reduce((a, b) => (b.rttMs < a.rttMs ? b : a));
    const cur = alive.find((p) => p.id === this.#current);
    if (cur === undefined) {
      this.#set(best.id, now);
    } else if (
      best.id !== cur.id &&
      now - this.#since >= this.minDwellMs &&
      best.rttMs < cur.rttMs * (1 - this.hysteresis) &&
      best.rttMs < cur.rttMs - this.marginMs
    ) {
      this.#set(best.id, now);
    }
    return this.#current;
  }

  /** Called on every change of the chosen path, with the clock reading that decided it. */
  onSwitch?: (from: number | undefined, to: number, at: number) => void;

  #set(id: number, now: number): void {
    const from = this.#current;
    if (from !== undefined) this.switches++;
    this.#current = id;
    this.#since = now;
    this.onSwitch?.(from, id, now);
  }

  pick(
    paths: readonly PathView[],
    _chunk: number,
    _backlog: number,
    now: number,
  ): number | undefined {
    const id = this.choose(paths, now);
    return paths.find((p) => p.id === id)?.ready ? id : undefined;
  }
}

class Redundant implements Scheduler {
  readonly name = 'redundant';
  readonly redundant = true;
  readonly reinjects = false;
  pick(paths: readonly PathView[]): number | undefined {
    return paths.find((p) => p.ready)?.id;
  }
}

/**
 * Preferred paths only, unless none is alive or they cannot carry the demand; then the
 * cheapest backups first. A path over its byte cap is not used while another is alive.
 */
export class Backup implements Scheduler {
  readonly name = 'backup';
  readonly redundant = false;
  readonly reinjects = true;
  readonly demandMs: number;

  constructor(opts: BackupOptions = {}) {
    this.demandMs = opts.demandMs ?? 500;
  }

  /** Copies stay on preferred paths while one is alive. */
  mayReinjectOn(path: PathView, all: readonly PathView[]): boolean {
    return path.preferred || !all.some((p) => p.preferred && p.alive);
  }

  pick(paths: readonly PathView[], chunk: number, backlog: number): number | undefined {
    const usable = paths.filter((p) => p.alive && !p.overCap);
    const pool = usable.length > 0 ? usable : paths.filter((p) => p.alive);
    const preferred = pool.filter((p) => p.preferred);
    if (preferred.length > 0) {
      const id = pickEarliest(preferred, chunk, backlog);
      if (id !== undefined) return id;
      const rate = preferred.reduce((s, p) => s + p.rate, 0);
      const inflight = preferred.reduce((s, p) => s + p.inflight, 0);
      if ((inflight + backlog) / rate <= this.demandMs) return undefined; // they will manage
    }
    const backups = pool.filter((p) => !p.preferred).sort((a, b) => a.cost - b.cost);
    const cheapest = backups[0]?.cost;
    const tier = backups.filter((p) => p.cost === cheapest);
    return pickEarliest(tier.length > 0 ? tier : pool, chunk, backlog);
  }
}

export function createScheduler(name: SchedulerName, opts: SchedulerOptions = {}): Scheduler {
  switch (name) {
    case 'aggregate':
      return new Aggregate();
    case 'best-path':
      return new BestPath(opts.bestPath);
    case 'redundant':
      return new Redundant();
    case 'backup':
      return new Backup(opts.backup);
    default:
      throw new RoamError(
        'ROAM_BAD_INPUT',
        `scheduler must be one of ${SCHEDULERS.join(', ')}, got ${JSON.stringify(name)}`,
      );
  }
}
