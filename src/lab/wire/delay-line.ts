import { RoamError } from '../../errors.js';
import {
  loadNative,
  type NativeDelayLine,
  type NativeDirectionParams,
  type NativeDirectionStats,
} from '../../native/addon.js';
import { type BandwidthTrace, validateTrace } from '../trace/trace.js';

export type Direction = 'ab' | 'ba';

export interface DirectionParams {
  /** One-way delay. */
  delayMs: number;
  /** Each frame's delay varies uniformly within +-jitterMs (never below 0, never reordered). */
  jitterMs: number;
  /** Drop probability, 0..1. */
  loss: number;
  /** Drop everything, silently, including frames already in flight. */
  stall: boolean;
  /**
   * Drop-tail bound of the bottleneck queue: frames waiting for trace opportunities. Without a
   * trace nothing queues (frames in flight on the delay are bounded by opts.holdPackets).
   */
  queuePackets: number;
  /** Mahimahi delivery schedule; after its delay a frame waits for opportunities. */
  trace: BandwidthTrace | null;
}

/** Per-direction counters; see NativeDirectionStats for the meaning of each. */
export type DirectionStats = NativeDirectionStats;

export interface DelayLineOptions {
  /** Fixed PRNG seed for loss and jitter, for repeatable tests. */
  seed?: number;
  /** Frames held per direction in all stages (memory bound); default 65536. */
  holdPackets?: number;
}

const MAX_DELAY_MS = 3_600_000;

function check(ok: boolean, message: string): void {
  if (!ok) throw new RoamError('ROAM_BAD_INPUT', message);
}

function validate(dir: Direction, p: DirectionParams): void {
  const at = `${dir}:`;
  for (const key of ['delayMs', 'jitterMs'] as const) {
    const v = p[key];
    check(
      typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= MAX_DELAY_MS,
      `${at} ${key} must be within 0..${MAX_DELAY_MS}, got ${v}`,
    );
  }
  check(
    typeof p.loss === 'number' && p.loss >= 0 && p.loss <= 1,
    `${at} loss must be within 0..1, got ${p.loss}`,
  );
  check(typeof p.stall === 'boolean', `${at} stall must be a boolean, got ${p.stall}`);
  check(
    Number.isSafeInteger(p.queuePackets) && p.queuePackets >= 1 && p.queuePackets <= 1 << 24,
    `${at} queuePackets must be an integer within 1..${1 << 24}, got ${p.queuePackets}`,
  );
  if (p.trace !== null) validateTrace(p.trace, `${at} trace`);
}

/**
 * One native thread moving Ethernet frames between two tap fds: A->B is 'ab', B->A is 'ba'.
 * The fds stay the caller's: close() the line before closing them.
 */
export class DelayLine {
  readonly #native: NativeDelayLine;
  readonly #params: Record<Direction, DirectionParams>;
  readonly #holdPackets: number | undefined;
  #closed = false;

  constructor(
    fdA: number,
    fdB: number,
    ab: DirectionParams,
    ba: DirectionParams,
    opts: DelayLineOptions = {},
  ) {
    for (const [what, fd] of [
      ['fdA', fdA],
      ['fdB', fdB],
    ] as const) {
      check(Number.isInteger(fd) && fd >= 0, `${what} must be an open file descriptor, got ${fd}`);
    }
    check(fdA !== fdB, `fdA and fdB must differ, both are ${fdA}`);
    const { seed, holdPackets } = opts;
    check(seed === undefined || Number.isSafeInteger(seed), `seed must be an integer, got ${seed}`);
    check(
      holdPackets === undefined || (Number.isSafeInteger(holdPackets) && holdPackets >= 1),
      `holdPackets must be a positive integer, got ${holdPackets}`,
    );
    validate('ab', ab);
    validate('ba', ba);
    this.#holdPackets = holdPackets;
    this.#params = { ab: { ...ab }, ba: { ...ba } };
    const Native = loadNative().DelayLine;
    this.#native = new Native(fdA, fdB, this.#toNative(ab), this.#toNative(ba), seed);
  }

  /** Changes one direction at run time; frames already held keep their release times. */
  set(direction: Direction, params: Partial<DirectionParams>): void {
    check(
      direction === 'ab' || direction === 'ba',
      `direction must be 'ab' or 'ba', got ${direction}`,
    );
    if (this.#closed)
      throw new RoamError('ROAM_CLOSED', 'the delay line is closed; create a new one');
    const next = { ...this.#params[direction], ...params };
    validate(direction, next);
    this.#native.set(direction, this.#toNative(next));
    this.#params[direction] = next;
  }

  /** The parameters currently in force for a direction. */
  params(direction: Direction): Readonly<DirectionParams> {
    return { ...this.#params[direction] };
  }

  /** Counters since creation; still readable after close(). */
  stats(): { ab: DirectionStats; ba: DirectionStats } {
    return this.#native.stats();
  }

  /** Stops the thread and drops held frames. Idempotent; leaves the fds open. */
  close(): void {
    this.#closed = true;
    this.#native.close();
  }

  #toNative(p: DirectionParams): NativeDirectionParams {
    return {
      delayUs: Math.round(p.delayMs * 1000),
      jitterUs: Math.round(p.jitterMs * 1000),
      loss: p.loss,
      stall: p.stall,
      holdLimitPackets: this.#holdPackets,
      queueLimitPackets: p.queuePackets,
      trace: p.trace,
    };
  }
}
