import { randomBytes } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { rootLogger } from '../log/logger.js';
import { closeTun, openTun, type TunDevice } from '../tun/device.js';
import { BestPathChooser } from './best-path.js';
import type { UpConfig } from './config.js';
import { encodeControl, MODE_CODES, type TunnelMode } from './control-message.js';
import {
  createDataPath,
  type DataPathEvent,
  type NativeDataPath,
  SLOT_CURRENT,
} from './datapath.js';
import { keyPairFromPrivate, type KeyPair, mac1Key, parseKey } from './keys.js';
import { initiate, type InitiatorHandshake } from './noise.js';
import { PathMonitor } from './path-monitor.js';
import { TYPE_RESPONSE } from './wire.js';

const PEER = 0;
const HANDSHAKE_RETRY_MS = 1000;
const ADDRESS_POLL_MS = 250;

/** The first IPv4 address of an interface, or undefined while it has none. */
function interfaceAddress(name: string): string | undefined {
  return networkInterfaces()[name]?.find((a) => a.family === 'IPv4')?.address;
}

interface Uplink {
  readonly name: string;
  address: string | undefined;
  readonly monitor: PathMonitor;
  probeTimer: NodeJS.Timeout | undefined;
}

/**
 * The mobile end: one UDP socket per uplink (bound to its address, rebound when it changes),
 * the handshake as initiator with rekeying, probing at Exp(mean) intervals, and the mode's
 * path choice. Packets themselves never pass through here (native/tunnel.c).
 */
export class MobileEnd {
  readonly #log = rootLogger().child({ component: 'tunnel-up' });
  readonly #keys: KeyPair;
  readonly #serverPublic: Buffer;
  readonly #uplinks: Uplink[];
  readonly #chooser = new BestPathChooser();
  #mode: TunnelMode;
  #dp: NativeDataPath;
  #tun: TunDevice;
  #pending: { hs: InitiatorHandshake; path: number } | undefined;
  #handshakeTimer: NodeJS.Timeout | undefined;
  #rekeyTimer: NodeJS.Timeout | undefined;
  #addressTimer: NodeJS.Timeout;
  #active: number | undefined;
  #lastModeSent = '';
  #sessionAtMs: number | undefined;
  #handshakes = 0;
  #stopped = false;

  constructor(private readonly cfg: UpConfig) {
    this.#keys = keyPairFromPrivate(parseKey(cfg.privateKey, 'the private key'));
    this.#serverPublic = parseKey(cfg.serverPublicKey, 'the server public key');
    this.#mode = cfg.mode;
    this.#tun = openTun({ name: cfg.device, mode: 'tun', txQueueLen: 10000 });
    try {
      this.#dp = createDataPath(this.#tun.fd, mac1Key(this.#keys.publicKey), (ev) =>
        this.#onEvent(ev),
      );
    } catch (err) {
      closeTun(this.#tun);
      throw err;
    }
    this.#dp.setBusyProbeMs(cfg.busyProbeMs);
    this.#dp.setPeer(PEER, null);
    const now = Date.now();
    this.#uplinks = cfg.uplinks.map((u) => ({
      name: u.interface,
      address: undefined,
      monitor: new PathMonitor(now),
      probeTimer: undefined,
    }));
    this.#watchAddresses();
    this.#addressTimer = setInterval(() => this.#watchAddresses(), ADDRESS_POLL_MS);
    this.#uplinks.forEach((_, i) => this.#scheduleProbe(i, 0));
    this.#handshake();
  }

  get device(): string {
    return this.#tun.name;
  }

  /** Switches mode at run time; in best mode `pin` forces one uplink (by interface name). */
  setMode(mode: TunnelMode, pin?: string | null): void {
    this.#mode = mode;
    const i = pin ? this.#uplinks.findIndex((u) => u.name === pin) : -1;
    if (pin && i < 0) throw new Error(`no uplink ${pin}`);
    this.#chooser.pin(i >= 0 ? i : undefined);
    this.#apply();
  }

  status(): object {
    const c = this.#dp.counters();
    return {
      role: 'up',
      device: this.#tun.name,
      mode: this.#mode,
      active: this.#active === undefined ? null : (this.#uplinks[this.#active]?.name ?? null),
      session:
        this.#sessionAtMs === undefined
          ? null
          : { ageMs: Date.now() - this.#sessionAtMs, handshakes: this.#handshakes },
      paths: this.#uplinks.map((u, i) => {
        const s = this.#dp.pathStats(PEER, i);
        return {
          id: i,
          interface: u.name,
          address: u.address ?? null,
          state: u.monitor.state,
          rttMs: u.monitor.rttMs ?? null,
          loss: u.monitor.loss,
          txBytes: s?.txBytes ?? 0,
          rxBytes: s?.rxBytes ?? 0,
          txPackets: s?.txPackets ?? 0,
          rxPackets: s?.rxPackets ?? 0,
        };
      }),
      counters: c,
    };
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#addressTimer);
    clearTimeout(this.#handshakeTimer);
    clearTimeout(this.#rekeyTimer);
    for (const u of this.#uplinks) clearTimeout(u.probeTimer);
    this.#dp.close();
    closeTun(this.#tun);
  }

  #watchAddresses(): void {
    const now = Date.now();
    this.#uplinks.forEach((u, i) => {
      const addr = interfaceAddress(u.name);
      if (addr === u.address) return;
      this.#log.warn({ uplink: u.name, from: u.address, to: addr }, 'uplink address changed');
      u.address = addr;
      u.monitor.reset(now);
      if (addr === undefined) {
        this.#dp.closeSocket(i);
        this.#dp.setEndpoint(PEER, i, -1, null, 0);
      } else {
        try {
          this.#dp.openSocket(i, addr, 0);
          this.#dp.setEndpoint(PEER, i, i, this.cfg.server.ip, this.cfg.server.port);
          // The server moves this path's endpoint once this authenticates (roaming).
          this.#dp.sendControl(PEER, i, Buffer.alloc(0));
          this.#probeNow(i);
        } catch (err) {
          this.#log.warn({ uplink: u.name, err: (err as Error).message }, 'cannot bind uplink');
          u.address = undefined;
        }
      }
      this.#apply();
    });
  }

  #scheduleProbe(i: number, delayMs: number): void {
    const u = this.#uplinks[i];
    if (!u || this.#stopped) return;
    clearTimeout(u.probeTimer);
    u.probeTimer = setTimeout(() => {
      this.#probeNow(i);
      // The seed's schedule: exponential gaps, so probes never synchronise with anything.
      this.#scheduleProbe(i, -Math.log(1 - Math.random()) * this.cfg.probeMeanMs);
    }, delayMs);
  }

  #probeNow(i: number): void {
    const u = this.#uplinks[i];
    if (!u?.address || this.#sessionAtMs === undefined) return;
    this.#dp.probe(PEER, i, Math.round(u.monitor.timeoutMs()));
  }

  #handshake(): void {
    if (this.#stopped) return;
    clearTimeout(this.#handshakeTimer);
    const candidates = this.#uplinks
      .map((u, i) => ({ u, i }))
      .filter(({ u }) => u.address !== undefined);
    // Rotate over uplinks on retries: the one we tried may be the broken one.
    const start = this.#pending ? this.#pending.path + 1 : (this.#active ?? 0);
    const pick = candidates.find(({ i }) => i >= start) ?? candidates[0];
    if (pick) {
      const hs = initiate({
        local: this.#keys,
        remotePublic: this.#serverPublic,
        senderIndex: randomBytes(4).readUInt32LE(0),
        nowMs: Date.now(),
      });
      this.#pending = { hs, path: pick.i };
      const e = this.#dp.sendRaw(pick.i, this.cfg.server.ip, this.cfg.server.port, hs.message);
      if (e !== 0) this.#log.warn({ uplink: pick.u.name, errno: e }, 'handshake send failed');
    }
    this.#handshakeTimer = setTimeout(() => this.#handshake(), HANDSHAKE_RETRY_MS);
  }

  #onEvent(ev: DataPathEvent): void {
    if (this.#stopped) return;
    const now = Date.now();
    switch (ev.type) {
      case 'handshake': {
        const p = this.#pending;
        if (ev.bytes[0] !== TYPE_RESPONSE || !p) return;
        let keys;
        try {
          keys = p.hs.consumeResponse(ev.bytes);
        } catch (err) {
          this.#log.warn({ err: (err as Error).message }, 'bad handshake response');
          return;
        }
        this.#pending = undefined;
        clearTimeout(this.#handshakeTimer);
        this.#dp.setKeypair(
          PEER,
          SLOT_CURRENT,
          keys.localIndex,
          keys.remoteIndex,
          keys.sendKey,
          keys.receiveKey,
        );
        this.#sessionAtMs = now;
        this.#handshakes++;
        // A first packet on each path confirms the session and tells the server our endpoints.
        this.#uplinks.forEach(
          (u, i) => u.address && this.#dp.sendControl(PEER, i, Buffer.alloc(0)),
        );
        this.#lastModeSent = '';
        this.#apply();
        this.#uplinks.forEach((_, i) => this.#probeNow(i));
        clearTimeout(this.#rekeyTimer);
        this.#rekeyTimer = setTimeout(() => this.#handshake(), this.cfg.rekeyAfterMs);
        return;
      }
      case 'probe': {
        const m = this.#uplinks[ev.path]?.monitor;
        if (!m) return;
        if (ev.rttUs >= 0) m.answered(ev.rttUs / 1000, now);
        else {
          m.lost(now);
          this.#probeNow(ev.path); // confirm or clear at once rather than at the next Exp gap
        }
        this.#apply();
        return;
      }
      default:
        return;
    }
  }

  /** Hands the mode and its path choice to the data path, and the server when it changes. */
  #apply(): void {
    if (this.#stopped) return;
    const now = Date.now();
    const views = this.#uplinks.map((u, i) => ({
      state: u.address === undefined ? ('down' as const) : u.monitor.state,
      rttMs: u.monitor.rttMs,
      role: this.cfg.uplinks[i]?.role ?? 'primary',
      cost: this.cfg.uplinks[i]?.cost ?? 0,
    }));
    const active = this.#chooser.choose(views, now);
    if (active !== this.#active) {
      this.#log.warn({ from: this.#active, to: active }, 'active path');
      this.#active = active;
    }
    const live = views.map((v, i) => (v.state !== 'down' ? i : -1)).filter((i) => i >= 0);
    const paths = live.length ? live : views.map((_, i) => i);
    const mask = paths.reduce((m, i) => m | (1 << i), 0);
    const weights = this.cfg.uplinks.map((u) => u.weight);
    this.#dp.setMode(PEER, MODE_CODES[this.#mode], active ?? -1, mask, weights);
    const msg = encodeControl({
      t: 'mode',
      mode: this.#mode,
      paths,
      weights,
      active: active ?? null,
    });
    if (msg.toString() !== this.#lastModeSent && this.#sessionAtMs !== undefined) {
      this.#lastModeSent = msg.toString();
      this.#uplinks.forEach((u, i) => u.address && this.#dp.sendControl(PEER, i, msg));
    }
  }
}
