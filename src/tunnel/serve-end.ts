import { randomBytes, timingSafeEqual } from 'node:crypto';
import { rootLogger } from '../log/logger.js';
import { closeTun, openTun, type TunDevice } from '../tun/device.js';
import type { ServeConfig } from './config.js';
import { decodeControl, MODE_CODES } from './control-message.js';
import { createDataPath, type DataPathEvent, type NativeDataPath, SLOT_NEXT } from './datapath.js';
import { keyPairFromPrivate, type KeyPair, mac1Key, parseKey } from './keys.js';
import { acceptInitiation } from './noise.js';
import { MAX_PATHS, TYPE_INITIATION } from './wire.js';

/** Handshakes answered per second at most: each costs three X25519 operations. */
const HANDSHAKES_PER_S = 50;

interface Peer {
  readonly publicKey: Buffer;
  readonly address: string;
  /** The greatest initiation timestamp seen: an older or equal one is a replay. */
  lastTimestamp: Buffer | undefined;
  handshakes: number;
  mode: string;
}

/**
 * The serve end: one UDP socket, the handshake as responder for known peers only, and the
 * mode each peer asks for. A peer's endpoints move only in the data path, after a packet from
 * the new address authenticates (native/tunnel.c, handle_data).
 */
export class ServeEnd {
  readonly #log = rootLogger().child({ component: 'tunnel-serve' });
  readonly #keys: KeyPair;
  readonly #peers: Peer[];
  readonly #dp: NativeDataPath;
  readonly #tun: TunDevice;
  readonly port: number;
  #bucket = HANDSHAKES_PER_S;
  #bucketAtMs = Date.now();
  #refused = {
    unknownPeer: 0,
    replayedInitiation: 0,
    badInitiation: 0,
    rateLimited: 0,
    badControl: 0,
  };
  #stopped = false;

  constructor(cfg: ServeConfig) {
    this.#keys = keyPairFromPrivate(parseKey(cfg.privateKey, 'the private key'));
    this.#peers = cfg.peers.map((p, i) => ({
      publicKey: parseKey(p.publicKey, `peers[${i}].publicKey`),
      address: p.address,
      lastTimestamp: undefined,
      handshakes: 0,
      mode: 'best',
    }));
    this.#tun = openTun({ name: cfg.device, mode: 'tun', txQueueLen: 10000 });
    try {
      this.#dp = createDataPath(this.#tun.fd, mac1Key(this.#keys.publicKey), (ev) =>
        this.#onEvent(ev),
      );
      this.port = this.#dp.openSocket(0, cfg.listen.ip, cfg.listen.port);
    } catch (err) {
      closeTun(this.#tun);
      throw err;
    }
    this.#dp.setBusyProbeMs(0); // the mobile end probes; this end answers
    this.#peers.forEach((p, i) => {
      this.#dp.setPeer(i, this.#peers.length === 1 ? null : p.address);
      this.#dp.setMode(i, MODE_CODES.best, -1, 0, []);
    });
  }

  get device(): string {
    return this.#tun.name;
  }

  status(): object {
    return {
      role: 'serve',
      device: this.#tun.name,
      port: this.port,
      refused: { ...this.#refused },
      counters: this.#dp.counters(),
      peers: this.#peers.map((p, i) => ({
        address: p.address,
        handshakes: p.handshakes,
        mode: p.mode,
        paths: Array.from({ length: MAX_PATHS }, (_, j) => ({
          id: j,
          ...this.#dp.pathStats(i, j),
        })).filter((s) => 'endpointIp' in s),
      })),
    };
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#dp.close();
    closeTun(this.#tun);
  }

  #onEvent(ev: DataPathEvent): void {
    if (this.#stopped) return;
    if (ev.type === 'handshake' && ev.bytes[0] === TYPE_INITIATION) this.#initiation(ev);
    else if (ev.type === 'control') {
      const m = decodeControl(ev.bytes);
      const peer = this.#peers[ev.peer];
      if (!m || !peer) {
        this.#refused.badControl++;
        return;
      }
      peer.mode = m.mode;
      const mask = m.paths.reduce((a, i) => a | (1 << i), 0);
      // Best mode follows the mobile end's choice: a download's receiver may have no data
      // to send on the new path (its ACKs stop when the data does), so it says so.
      this.#dp.setMode(ev.peer, MODE_CODES[m.mode], m.active ?? -1, mask, m.weights);
    }
  }

  #initiation(ev: DataPathEvent): void {
    const now = Date.now();
    this.#bucket = Math.min(
      HANDSHAKES_PER_S,
      this.#bucket + ((now - this.#bucketAtMs) / 1000) * HANDSHAKES_PER_S,
    );
    this.#bucketAtMs = now;
    if (this.#bucket < 1) {
      this.#refused.rateLimited++;
      return;
    }
    this.#bucket--;
    let hs;
    try {
      hs = acceptInitiation(this.#keys, ev.bytes);
    } catch {
      this.#refused.badInitiation++;
      return;
    }
    const index = this.#peers.findIndex((p) => timingSafeEqual(p.publicKey, hs.initiatorPublic));
    const peer = this.#peers[index];
    if (!peer) {
      this.#refused.unknownPeer++;
      return;
    }
    if (peer.lastTimestamp && Buffer.compare(hs.timestamp, peer.lastTimestamp) <= 0) {
      this.#refused.replayedInitiation++;
      return;
    }
    peer.lastTimestamp = Buffer.from(hs.timestamp);
    const { message, keys } = hs.respond(randomBytes(4).readUInt32LE(0));
    // The new session is "next" until the peer's first packet under it (native side).
    this.#dp.setKeypair(
      index,
      SLOT_NEXT,
      keys.localIndex,
      keys.remoteIndex,
      keys.sendKey,
      keys.receiveKey,
    );
    const e = this.#dp.sendRaw(ev.socket, ev.fromIp, ev.fromPort, message);
    if (e !== 0) this.#log.warn({ errno: e }, 'handshake response not sent');
    peer.handshakes++;
  }
}
