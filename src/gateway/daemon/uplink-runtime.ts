import { readFile } from 'node:fs/promises';
import type { UplinkConfig } from '../config/model.js';
import type { Clock } from '../../clock/clock.js';
import { type Transition, UplinkHealth, type HealthThresholds } from '../health/state-machine.js';
import { type ProbeConnect, UplinkProber } from '../health/prober.js';
import type { ProbeTarget } from '../config/model.js';
import type { UplinkStatus } from '../status/model.js';

async function counter(ifname: string, name: string): Promise<number | undefined> {
  try {
    return Number(await readFile(`/sys/class/net/${ifname}/statistics/${name}`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** One uplink while the gateway runs: its address, health machine, prober and throughput. */
export class UplinkRuntime {
  readonly health: UplinkHealth;
  readonly prober: UplinkProber;
  source: string | undefined;
  prefixLen: number;
  rxBps = 0;
  txBps = 0;
  /** When an origin's bytes last arrived through this uplink (the engine's sockets). */
  deliveredAt: number | undefined;
  #deliveryFed: number | undefined;
  #lastCounters: { at: number; rx: number; tx: number } | undefined;

  constructor(
    readonly index: number,
    readonly config: UplinkConfig,
    address: { source: string | undefined; prefixLen: number; up: boolean },
    opts: {
      thresholds: HealthThresholds;
      targets: readonly ProbeTarget[];
      intervalMs: number;
      clock: Clock;
      probeConnect?: ProbeConnect;
      onTransition: (u: UplinkRuntime, t: Transition) => void;
    },
  ) {
    this.source = address.source;
    this.prefixLen = address.prefixLen;
    const now = opts.clock.now();
    this.health = new UplinkHealth(
      opts.thresholds,
      now,
      address.up && address.source ? 'up' : 'down',
    );
    this.prober = new UplinkProber({
      targets: opts.targets,
      intervalMs: opts.intervalMs,
      timeoutMs: opts.thresholds.stallMs,
      source: () => this.source,
      clock: opts.clock,
      connect: opts.probeConnect,
      onAnswer: (sentAt, at) => {
        const t = this.health.handle({ kind: 'answer', sentAt, now: at });
        if (t) opts.onTransition(this, t);
      },
    });
  }

  /**
   * The newest delivery not yet given to the health machine, as the start of the round trip
   * it completes: the arrival minus the path's base round trip (the smallest probe round trip
   * lately, which queueing does not inflate), like a probe's send time.
   */
  takeDelivery(): number | undefined {
    if (this.deliveredAt === undefined || this.deliveredAt === this.#deliveryFed) return undefined;
    this.#deliveryFed = this.deliveredAt;
    return this.deliveredAt - (this.prober.minRttMs ?? 0);
  }

  get name(): string {
    return this.config.name;
  }

  /** This uplink in `roam gateway status`; `now` on the clock's scale, `wall` Date.now(). */
  status(now: number, wall: number, flows: number): UplinkStatus {
    const c = this.health.counters();
    return {
      name: this.name,
      interface: this.config.interface,
      source: this.source ?? null,
      gateway: this.config.gateway,
      weight: this.config.weight,
      cost: this.config.cost,
      state: this.health.state,
      since: new Date(wall - (now - this.health.since)).toISOString(),
      rttMs: this.prober.rttMs ?? null,
      loss: this.prober.loss,
      rxBps: Math.round(this.rxBps),
      txBps: Math.round(this.txBps),
      flows,
      failures: c.failures,
      transients: c.transients,
      lastFailureMs: c.lastFailureMs,
    };
  }

  /** Interface throughput since the last call, in bits per second. */
  async sampleThroughput(now: number): Promise<void> {
    const rx = await counter(this.config.interface, 'rx_bytes');
    const tx = await counter(this.config.interface, 'tx_bytes');
    if (rx === undefined || tx === undefined) return;
    const last = this.#lastCounters;
    if (last && now > last.at) {
      this.rxBps = ((rx - last.rx) * 8 * 1000) / (now - last.at);
      this.txBps = ((tx - last.tx) * 8 * 1000) / (now - last.at);
    }
    this.#lastCounters = { at: now, rx, tx };
  }
}
