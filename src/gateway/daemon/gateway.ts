import { createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { isRoamError, RoamError } from '../../errors.js';
import { type Logger, rootLogger } from '../../log/logger.js';
import { loadNative } from '../../native/addon.js';
import type { GatewayConfig } from '../config/model.js';
import { startControlServer } from '../control/server.js';
import { isHealthy, type Transition } from '../health/state-machine.js';
import { LinkMonitor } from '../health/link-monitor.js';
import type { ProbeConnect } from '../health/prober.js';
import { type Clock, systemClock } from '../../clock/clock.js';
import { HttpEngine } from '../http/engine.js';
import type { HostPort } from '../http/uplink.js';
import { type Command, optional } from '../routing/command.js';
import {
  gatewaySysctls,
  markMask,
  pickCommand,
  resetCommand,
  resetMark,
  setupCommands,
  teardownCommands,
  uplinkMark,
  uplinkRouteCommands,
  uplinkRuleCommands,
} from '../routing/plan.js';
import { hostDifference, hostSnapshot } from '../routing/host-snapshot.js';
import { restoreFromState } from '../routing/restore.js';
import {
  controlSocketPath,
  type GatewayState,
  pidAlive,
  readGatewayState,
  writeGatewayState,
} from '../routing/state.js';
import {
  currentNetns,
  interfaceAddress,
  readSysctls,
  runCommands,
  sysctlCommands,
} from '../routing/system.js';
import type {
  ForwardedFlow,
  GatewayStatus,
  MigrationRecord,
  UplinkEvent,
} from '../status/model.js';
import { pickWeighted } from './balancer.js';
import { forwardedFlows, readConntrack } from './conntrack.js';
import { nudgeClients } from './fast-reset.js';
import { discoverInterfaces, type UplinkAddressNow } from './discover.js';
import { linkDownNow } from './link-state.js';
import { UplinkRuntime } from './uplink-runtime.js';

export interface GatewayDeps {
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly probeConnect?: ProbeConnect;
  readonly random?: () => number;
}

const HISTORY = 100;
const TICK_MS = 20;

/**
 * A running roam gateway: routing and NAT applied (and recorded for `down`), the HTTP engine
 * listening for intercepted connections, every uplink probed and watched, and the reactions
 * to health changes: balancing rules rewritten, live HTTP responses migrated, other TCP
 * flows on a failed uplink reset.
 */
export class Gateway {
  readonly #config: GatewayConfig;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #uplinks: UplinkRuntime[] = [];
  readonly #engine: HttpEngine;
  readonly #migrations: MigrationRecord[] = [];
  readonly #events: UplinkEvent[] = [];
  readonly #startedAt = new Date();
  readonly #state: GatewayState;
  readonly #probeConnect: ProbeConnect | undefined;
  #server: Server | undefined;
  #control: Server | undefined;
  #monitor: LinkMonitor | undefined;
  #cancelTick: (() => void) | undefined;
  #cancelSample: (() => void) | undefined;
  /** Routing commands run one after another, in the order health changed. */
  #queue: Promise<void> = Promise.resolve();
  #links: Promise<void> = Promise.resolve();
  #lastTick: number | undefined;
  /** Interfaces with a link event waiting in #links. */
  readonly #linkPending = new Set<string>();
  #resets = 0;
  /** Failed uplinks whose HTTP flows wait for some uplink to be healthy before they move. */
  readonly #waiting = new Set<string>();
  #stopped = false;
  #port = 0;
  #onExit = (): void => {
    if (!this.#stopped) restoreFromState(this.#state);
  };

  private constructor(config: GatewayConfig, state: GatewayState, deps: GatewayDeps) {
    this.#config = config;
    this.#state = state;
    this.#clock = deps.clock ?? systemClock;
    this.#probeConnect = deps.probeConnect;
    this.#log = (deps.logger ?? rootLogger()).child({ gateway: config.name });
    const random = deps.random ?? Math.random;
    this.#engine = new HttpEngine({
      pickUplink: (excluding) =>
        pickWeighted(
          this.#uplinks.map((u) => ({
            id: u.name,
            localAddress: u.source ?? '0.0.0.0',
            weight: u.config.weight,
            healthy: u.source !== undefined && isHealthy(u.health.state),
          })),
          excluding,
          random,
        ),
      clock: this.#clock,
      logger: this.#log,
      maxSpares: config.http.spares,
      // Noted here, fed to the health machines on the next tick (reads are many).
      onDelivery: (id) => {
        const u = this.#uplinks.find((x) => x.name === id);
        if (u) u.deliveredAt = this.#clock.now();
      },
      onMigration: (m) => {
        this.#remember(this.#migrations, {
          flow: m.flow,
          from: m.from ?? null,
          to: m.to,
          offset: m.offset,
          reason: m.reason,
          at: new Date().toISOString(),
          recoveryMs: null,
          kind: null,
        });
        this.#log.info(m, 'migration');
      },
      onSplice: (s) => {
        const i = this.#migrations.findLastIndex((m) => m.flow === s.flow && m.recoveryMs === null);
        const m = this.#migrations[i];
        if (m) this.#migrations[i] = { ...m, recoveryMs: s.splicedAt - s.failedAt, kind: s.kind };
        this.#log.info(s, 'splice');
      },
      onMigrationCancelled: (c) => {
        const i = this.#migrations.findLastIndex((m) => m.flow === c.flow && m.recoveryMs === null);
        const m = this.#migrations[i];
        if (m) this.#migrations[i] = { ...m, kind: 'cancelled' };
        this.#log.info(c, 'migration cancelled');
      },
    });
  }

  /** Applies routing and NAT, starts the engine, probes and link events. */
  static async start(config: GatewayConfig, deps: GatewayDeps = {}): Promise<Gateway> {
    const previous = readGatewayState(config.name);
    if (previous && previous.pid !== process.pid && pidAlive(previous.pid)) {
      throw new RoamError(
        'ROAM_GATEWAY_RUNNING',
        `gateway ${config.name} is already running (pid ${previous.pid}); stop it with roam gateway down --name ${config.name}`,
      );
    }
    if (previous) restoreFromState(previous); // leftovers of a crash
    const { lanIp, addresses } = await discoverInterfaces(config);
    const sysctls = gatewaySysctls(config);
    // What the host looks like before: a failed start is undone, and checked against this.
    const before = await hostSnapshot(Object.keys(sysctls));
    const state: GatewayState = {
      version: 1,
      name: config.name,
      pid: process.pid,
      netns: currentNetns(),
      createdAt: new Date().toISOString(),
      teardown: teardownCommands(config),
      sysctls: readSysctls(Object.keys(sysctls)),
    };
    writeGatewayState(state);
    const gw = new Gateway(config, state, deps);
    process.on('exit', gw.#onExit);
    try {
      await gw.#begin(lanIp, addresses, sysctls);
    } catch (err) {
      await gw.stop();
      const left = hostDifference(before, await hostSnapshot(Object.keys(sysctls)));
      const cause = (err as Error).message;
      throw new RoamError(
        isRoamError(err) ? err.code : 'ROAM_GATEWAY_COMMAND',
        left === undefined
          ? `gateway ${config.name} did not come up: ${cause}; everything it applied was undone, the host is as it was`
          : `gateway ${config.name} did not come up: ${cause}; undoing it left ${left}`,
        { cause: err },
      );
    }
    return gw;
  }

  get port(): number {
    return this.#port;
  }

  get engine(): HttpEngine {
    return this.#engine;
  }

  async #begin(
    lanIp: string,
    addresses: readonly UplinkAddressNow[],
    sysctls: Record<string, string>,
  ): Promise<void> {
    const config = this.#config;
    await runCommands([
      ...this.#state.teardown,
      ...sysctlCommands(sysctls),
      ...setupCommands(config),
    ]);
    config.uplinks.forEach((u, i) => {
      const address = addresses[i] as (typeof addresses)[number];
      this.#uplinks.push(
        new UplinkRuntime(i, u, address, {
          thresholds: config.health,
          targets: config.probes.targets,
          intervalMs: config.probes.intervalMs,
          clock: this.#clock,
          probeConnect: this.#probeConnect,
          onTransition: (up, t) => this.#transition(up, t),
        }),
      );
    });
    for (const u of this.#uplinks) {
      if (u.source === undefined) continue;
      const cmds = uplinkRuleCommands(config, u.index, u.source);
      if (u.health.state !== 'down') {
        cmds.unshift(
          ...uplinkRouteCommands(config, u.index, u.config, {
            source: u.source,
            prefixLen: u.prefixLen,
          }),
        );
      }
      await runCommands(cmds);
    }
    await runCommands(this.#balancing());
    if (config.http.intercept) {
      const server = createServer({ allowHalfOpen: true }, (socket) => this.#intercepted(socket));
      server.listen(config.http.port, lanIp);
      await once(server, 'listening');
      this.#server = server;
      this.#port = config.http.port;
    }
    this.#monitor = new LinkMonitor(new Set(config.uplinks.map((u) => u.interface)), (ifname) => {
      // A link that went down is acted on at once (sysfs, no child process to wait for):
      // its responses start moving while `ip` would still be starting.
      if (linkDownNow(ifname)) this.#linkDown(ifname, 'link down');
      // Full reads one at a time, in order: a renumber is two events whose reads must not
      // cross. Events that come while one is waiting to run are folded into it (it reads
      // the state as it is when it runs): a link going down is a burst of them.
      if (this.#linkPending.has(ifname)) return;
      this.#linkPending.add(ifname);
      this.#links = this.#links
        .then(() => {
          this.#linkPending.delete(ifname);
          return this.#linkChanged(ifname);
        })
        .catch((err: unknown) => {
          this.#log.error({ err: (err as Error).message }, 'link event handling failed');
        });
    });
    this.#monitor.start();
    for (const u of this.#uplinks) u.prober.start();
    this.#tick();
    this.#sample();
    this.#control = await startControlServer(controlSocketPath(config.name), async () => {
      await this.refreshForwarded(); // conntrack is read when asked, not on a timer
      return this.status();
    });
  }

  /** Balancing and reset rules for the current health. */
  #balancing(): Command[] {
    const healthy = this.#uplinks.filter((u) => isHealthy(u.health.state)).map((u) => u.name);
    const failed = this.#uplinks.filter((u) => u.health.state === 'down').map((u) => u.name);
    const out = [pickCommand(this.#config, healthy)];
    if (this.#config.fastReset) out.push(resetCommand(this.#config, failed));
    return out;
  }

  #intercepted(socket: Socket): void {
    let origin: HostPort;
    try {
      const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
      if (fd === undefined || fd < 0) throw new Error('no file descriptor');
      const dst = loadNative().getOriginalDst(fd);
      origin = { host: dst.address, port: dst.port };
    } catch (err) {
      this.#log.warn(
        { err: (err as Error).message },
        'intercepted connection without an original destination',
      );
      socket.destroy();
      return;
    }
    if (origin.port === this.#port && origin.host === socket.localAddress) {
      socket.destroy(); // a connection to the engine itself, not an intercepted one
      return;
    }
    this.#engine.handle(socket, origin);
  }

  #remember<T>(list: T[], item: T): void {
    list.push(item);
    if (list.length > HISTORY) list.shift();
  }

  #transition(u: UplinkRuntime, t: Transition): void {
    if (this.#stopped) return;
    this.#log.warn({ uplink: u.name, from: t.from, to: t.to, reason: t.reason }, 'uplink state');
    this.#remember(this.#events, {
      uplink: u.name,
      from: t.from,
      to: t.to,
      reason: t.reason,
      at: new Date().toISOString(),
    });
    if (this.#config.http.splice && t.to === 'suspect') {
      const n = this.#engine.uplinkSuspect(u.name);
      if (n > 0) this.#log.info({ uplink: u.name, flows: n }, 'spare connections opened');
    } else if (t.from === 'suspect' && t.to === 'up') {
      this.#engine.uplinkCleared(u.name);
    }
    const healthChanged =
      isHealthy(t.from) !== isHealthy(t.to) || t.to === 'down' || t.from === 'down';
    if (!healthChanged) return;
    const rules = this.#balancing();
    const failed = t.to === 'down';
    if (!failed) this.#waiting.delete(u.name);
    if (isHealthy(t.to) && !isHealthy(t.from)) this.#moveWaiting();
    // HTTP first: the engine needs no rule change to move a response (its new upstream is
    // bound to another uplink's address).
    if (failed && this.#config.http.splice) {
      if (this.#uplinks.some((x) => isHealthy(x.health.state))) {
        const n = this.#engine.uplinkFailed(u.name);
        if (n > 0) this.#log.warn({ uplink: u.name, flows: n }, 'moving HTTP flows');
      } else {
        // Nowhere to go: moving would only fail the flows (no uplink). Left alone they go
        // on if this uplink comes back, and move as soon as another one is healthy.
        this.#waiting.add(u.name);
        this.#log.warn({ uplink: u.name }, 'no healthy uplink: HTTP flows wait');
      }
    } else if (failed && this.#config.fastReset) {
      // Splicing off: intercepted HTTP gets the same fast reset as other TCP.
      const n = this.#engine.resetUplink(u.name);
      this.#resets += n;
      if (n > 0) this.#log.warn({ uplink: u.name, flows: n }, 'resetting HTTP flows');
    }
    this.#enqueue(async () => {
      await runCommands(rules);
      if (failed && this.#config.fastReset) await this.#resetFlows(u);
    });
  }

  /** An uplink is healthy again: the flows waiting on failed uplinks move to it now. */
  #moveWaiting(): void {
    for (const name of this.#waiting) {
      const n = this.#engine.uplinkFailed(name);
      if (n > 0) this.#log.warn({ uplink: name, flows: n }, 'moving HTTP flows');
    }
    this.#waiting.clear();
  }

  async #resetFlows(u: UplinkRuntime): Promise<void> {
    const mask = markMask(this.#config);
    const mark = uplinkMark(this.#config, u.index);
    const flows = (await readConntrack()).filter(
      (e) => e.protocol === 'tcp' && e.state === 'ESTABLISHED' && (e.mark & mask) === mark,
    );
    if (flows.length === 0) return;
    const n = nudgeClients(flows, resetMark(this.#config));
    this.#resets += n;
    this.#log.warn({ uplink: u.name, flows: n }, 'resetting TCP flows of a failed uplink');
  }

  #enqueue(job: () => Promise<void>): void {
    this.#queue = this.#queue.then(job).catch((err: unknown) => {
      this.#log.error({ err: (err as Error).message }, 'routing update failed');
    });
  }

  async #linkChanged(ifname: string): Promise<void> {
    const u = this.#uplinks.find((x) => x.config.interface === ifname);
    if (!u || this.#stopped) return;
    const info = await interfaceAddress(ifname);
    if (this.#stopped) return;
    const wanted = u.config.source;
    const address = wanted ? info?.addresses.find((a) => a.ip === wanted) : info?.addresses[0];
    const usable = info?.up === true && address !== undefined;
    const now = this.#clock.now();
    if (!usable) {
      const why =
        info === undefined ? 'interface gone' : !info.up ? 'link down' : 'address removed';
      this.#linkDown(ifname, why);
      return;
    }
    const previous = u.source;
    const moved = previous !== undefined && address.ip !== previous;
    u.source = address.ip;
    u.prefixLen = address.prefixLen;
    // The kernel dropped the uplink's routes with the link (or the old address): put them back.
    const cmds = uplinkRouteCommands(this.#config, u.index, u.config, {
      source: address.ip,
      prefixLen: address.prefixLen,
    });
    if (previous !== address.ip)
      cmds.push(...uplinkRuleCommands(this.#config, u.index, address.ip));
    // May fail when the address vanished meanwhile (the first event of a renumber): the
    // event that follows applies the routes again with the address that is left.
    this.#enqueue(() => runCommands(cmds.map(optional)));
    if (moved) {
      // Connections bound to (or NATed to) the old address are silently dead: move the
      // HTTP responses (the engine's new upstreams bind to the new address or another uplink).
      this.#log.warn({ uplink: u.name, from: previous, to: address.ip }, 'uplink renumbered');
      if (this.#config.http.splice) this.#engine.uplinkFailed(u.name);
    }
    const t = u.health.handle({ kind: 'link-up', now });
    if (t) this.#transition(u, t);
  }

  #linkDown(ifname: string, why: string): void {
    const u = this.#uplinks.find((x) => x.config.interface === ifname);
    if (!u || this.#stopped) return;
    const t = u.health.handle({ kind: 'link-down', now: this.#clock.now(), why });
    if (t) this.#transition(u, t);
  }

  #tick(): void {
    if (this.#stopped) return;
    const now = this.#clock.now();
    const previous = this.#lastTick;
    this.#lastTick = now;
    for (const u of this.#uplinks) {
      // Reacting to one uplink can take long (hundreds of flows moved at once on a loaded
      // host): judge the others after the I/O that arrived meanwhile has been read.
      if (this.#clock.now() - now > TICK_MS) break;
      // A silent uplink may still be receiving into sockets paused for slow clients: asked
      // only then (an ioctl per paused socket), as proof from the previous tick on.
      if (
        previous !== undefined &&
        u.health.state !== 'down' &&
        u.health.silence(now) >= this.#config.health.suspectMs / 2 &&
        this.#engine.uplinkReceiving(u.name)
      ) {
        u.deliveredAt = Math.max(u.deliveredAt ?? previous, previous);
      }
      const sentAt = u.takeDelivery();
      const d =
        sentAt === undefined ? undefined : u.health.handle({ kind: 'delivered', sentAt, now });
      if (d) this.#transition(u, d);
      const t = u.health.handle({ kind: 'tick', now });
      if (t) this.#transition(u, t);
    }
    // Judge silence only after the event loop has taken in the I/O that is ready: on a
    // busy host a timer can fire late, right before the probe answers that arrived
    // meanwhile are read, and would declare a healthy uplink dead. setImmediate runs after
    // the poll phase.
    this.#cancelTick = this.#clock.after(TICK_MS, () => {
      const immediate = setImmediate(() => this.#tick());
      this.#cancelTick = () => clearImmediate(immediate);
    });
  }

  #sample(): void {
    if (this.#stopped) return;
    const now = this.#clock.now();
    void Promise.all(this.#uplinks.map((u) => u.sampleThroughput(now)));
    this.#cancelSample = this.#clock.after(1000, () => this.#sample());
  }

  #forwarded: readonly ForwardedFlow[] = [];

  /** Refreshes the conntrack view used by status (called by the control socket). */
  async refreshForwarded(): Promise<void> {
    this.#forwarded = forwardedFlows(await readConntrack(), this.#config);
  }

  status(): GatewayStatus {
    const http = this.#engine.stats();
    const now = this.#clock.now();
    const wall = Date.now();
    const flowsOn = (name: string): number =>
      http.filter((f) => f.uplink === name).length +
      this.#forwarded.filter((f) => f.uplink === name).length;
    return {
      name: this.#config.name,
      pid: process.pid,
      startedAt: this.#startedAt.toISOString(),
      settings: {
        intercept: this.#config.http.intercept,
        port: this.#config.http.port,
        splice: this.#config.http.splice,
        fastReset: this.#config.fastReset,
      },
      uplinks: this.#uplinks.map((u) => u.status(now, wall, flowsOn(u.name))),
      http,
      forwarded: this.#forwarded,
      migrations: [...this.#migrations],
      events: [...this.#events],
      resets: this.#resets,
    };
  }

  /** Stops everything and restores the host (idempotent). */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#cancelTick?.();
    this.#cancelSample?.();
    this.#monitor?.stop();
    for (const u of this.#uplinks) u.prober.stop();
    const closing: Array<Promise<void>> = [this.#engine.close()];
    for (const s of [this.#server, this.#control]) {
      if (s) closing.push(new Promise((resolve) => s.close(() => resolve())));
    }
    await Promise.all(closing);
    await this.#queue;
    restoreFromState(this.#state);
    process.off('exit', this.#onExit);
  }
}
