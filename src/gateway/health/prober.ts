import { connect, type Socket } from 'node:net';
import type { Clock } from '../../clock/clock.js';
import type { ProbeTarget } from '../config/model.js';

/** Opens a probe connection from `localAddress`; injectable for tests. */
export type ProbeConnect = (target: ProbeTarget, localAddress: string) => Socket;

export const defaultProbeConnect: ProbeConnect = (t, localAddress) =>
  connect({ host: t.host, port: t.port, localAddress });

export interface ProberOptions {
  readonly targets: readonly ProbeTarget[];
  readonly intervalMs: number;
  /** A probe unanswered this long counts as lost and its socket is destroyed. */
  readonly timeoutMs: number;
  /** The uplink's source address now (undefined while it has none: no probe is sent). */
  readonly source: () => string | undefined;
  readonly clock: Clock;
  readonly connect?: ProbeConnect;
  readonly onAnswer: (sentAt: number, now: number) => void;
}

const LOSS_WINDOW = 20;
/** Answered probes over which the base (smallest) round trip is taken: 10 s at 100 ms. */
const MIN_RTT_WINDOW = 100;

/**
 * Active probes through one uplink: every intervalMs a TCP connection from the uplink's
 * address to the next target. A SYN-ACK or a reset (ECONNREFUSED: a closed port proves the
 * path as well) is an answer; anything else, or nothing within timeoutMs, is not. At most
 * timeoutMs / intervalMs + 1 probe sockets are open at once.
 */
export class UplinkProber {
  readonly #opts: ProberOptions;
  readonly #connect: ProbeConnect;
  /** Open probe sockets and the cancel of each one's timeout. */
  readonly #open = new Map<Socket, () => void>();
  #cancelNext: (() => void) | undefined;
  #nextTarget = 0;
  #srttMs: number | undefined;
  readonly #outcomes: boolean[] = [];
  readonly #rtts: number[] = [];
  #running = false;

  constructor(opts: ProberOptions) {
    this.#opts = opts;
    this.#connect = opts.connect ?? defaultProbeConnect;
  }

  start(): void {
    if (this.#running || this.#opts.targets.length === 0) return;
    this.#running = true;
    this.#probe();
  }

  stop(): void {
    this.#running = false;
    this.#cancelNext?.();
    this.#cancelNext = undefined;
    for (const [socket, cancelTimeout] of this.#open) {
      cancelTimeout();
      socket.destroy();
    }
    this.#open.clear();
  }

  /** Smoothed connect time of answered probes (RFC 6298's 1/8 gain). */
  get rttMs(): number | undefined {
    return this.#srttMs;
  }

  /** Smallest round trip of the last 100 answered probes: the path without queueing. */
  get minRttMs(): number | undefined {
    return this.#rtts.length === 0 ? undefined : Math.min(...this.#rtts);
  }

  /** Share of the last 20 finished probes that went unanswered. */
  get loss(): number {
    if (this.#outcomes.length === 0) return 0;
    return this.#outcomes.filter((ok) => !ok).length / this.#outcomes.length;
  }

  #record(ok: boolean): void {
    this.#outcomes.push(ok);
    if (this.#outcomes.length > LOSS_WINDOW) this.#outcomes.shift();
  }

  #probe(): void {
    if (!this.#running) return;
    this.#cancelNext = this.#opts.clock.after(this.#opts.intervalMs, () => this.#probe());
    const source = this.#opts.source();
    const target = this.#opts.targets[this.#nextTarget++ % this.#opts.targets.length];
    if (source === undefined || target === undefined) return;
    const sentAt = this.#opts.clock.now();
    let socket: Socket;
    try {
      socket = this.#connect(target, source);
    } catch {
      this.#record(false);
      return;
    }
    let done = false;
    const finish = (answered: boolean): void => {
      if (done) return;
      done = true;
      cancelTimeout();
      this.#open.delete(socket);
      socket.destroy();
      this.#record(answered);
      if (!answered || !this.#running) return;
      const now = this.#opts.clock.now();
      const rtt = now - sentAt;
      this.#srttMs = this.#srttMs === undefined ? rtt : this.#srttMs + (rtt - this.#srttMs) / 8;
      this.#rtts.push(rtt);
      if (this.#rtts.length > MIN_RTT_WINDOW) this.#rtts.shift();
      this.#opts.onAnswer(sentAt, now);
    };
    const cancelTimeout = this.#opts.clock.after(this.#opts.timeoutMs, () => finish(false));
    this.#open.set(socket, cancelTimeout);
    socket.once('connect', () => finish(true));
    socket.once('error', (err: NodeJS.ErrnoException) => finish(err.code === 'ECONNREFUSED'));
    socket.once('close', () => finish(false));
  }
}
