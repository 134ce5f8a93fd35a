import { loadNative } from '../native/addon.js';

/** An event from the native data path (native/tunnel_napi.c). */
export interface DataPathEvent {
  type: 'handshake' | 'control' | 'probe' | 'confirmed';
  peer: number;
  path: number;
  socket: number;
  fromIp: string;
  fromPort: number;
  /** Probe events: the RTT in µs, or -1 for a lost probe. */
  rttUs: number;
  bytes: Buffer;
}

export interface DataPathCounters {
  tunRx: number;
  tunTx: number;
  tunWriteError: number;
  tunOversize: number;
  udpRx: number;
  udpTx: number;
  udpSendError: number;
  malformed: number;
  unknownIndex: number;
  authFailed: number;
  replayed: number;
  duplicates: number;
  noSession: number;
  mac1Failed: number;
  handshakes: number;
  controls: number;
  eventsDropped: number;
  roamed: number;
  expired: number;
  reorderHeld: number;
  reorderSkipped: number;
  reorderLate: number;
}

export interface DataPathPathStats {
  txPackets: number;
  txBytes: number;
  rxPackets: number;
  rxBytes: number;
  lastRxAgoMs: number;
  lastTxAgoMs: number;
  probeRttUs: number;
  replyRttUs: number;
  socket: number;
  endpointIp?: string;
  endpointPort?: number;
}

export const SLOT_CURRENT = 0;
export const SLOT_NEXT = 2;

/** The native class: every packet moves on its own thread; these calls configure it. */
export interface NativeDataPath {
  openSocket(index: number, ip: string | null, port: number): number;
  closeSocket(index: number): void;
  setPeer(peer: number, tunnelIp: string | null): void;
  removePeer(peer: number): void;
  setEndpoint(peer: number, path: number, socket: number, ip: string | null, port: number): void;
  setKeypair(
    peer: number,
    slot: number,
    localIndex: number,
    remoteIndex: number,
    sendKey: Buffer,
    receiveKey: Buffer,
  ): void;
  setMode(peer: number, mode: number, active: number, mask: number, weights: number[]): void;
  /** 0 sent or queued; EBUSY (16) one is already out; another errno if it could not go. */
  probe(peer: number, path: number, timeoutMs: number): number;
  /** 0, or the errno of sending (ENOKEY 126: no session yet). Empty bytes send a keepalive. */
  sendControl(peer: number, path: number, bytes: Buffer): number;
  sendRaw(socket: number, ip: string, port: number, bytes: Buffer): number;
  counters(): DataPathCounters;
  pathStats(peer: number, path: number): DataPathPathStats | null;
  setBusyProbeMs(ms: number): void;
  close(): void;
}

type Ctor = new (
  tunFd: number,
  mac1Key: Buffer,
  onEvent: (ev: DataPathEvent) => void,
) => NativeDataPath;

export function createDataPath(
  tunFd: number,
  mac1Key: Buffer,
  onEvent: (ev: DataPathEvent) => void,
): NativeDataPath {
  const native = loadNative() as unknown as { TunnelDataPath: Ctor };
  return new native.TunnelDataPath(tunFd, mac1Key, onEvent);
}
