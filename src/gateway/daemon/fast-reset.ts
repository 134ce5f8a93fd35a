import { randomInt } from 'node:crypto';
import { loadNative } from '../../native/addon.js';
import type { ConntrackEntry } from './conntrack.js';

/**
 * Nudges the LAN clients of TCP connections on a failed uplink: a forged ACK "from the
 * server" with a sequence number outside the client's window makes its TCP answer with an
 * ACK at once (RFC 9293 3.10.7.4), and that ACK meets the gateway's REJECT, which resets
 * the client with the exact sequence number it expects. Without the nudge an idle client
 * (a download waiting for data) would send nothing until its own timeout, minutes later.
 * Two segments half the sequence space apart: at least one is outside any window.
 */
export function nudgeClients(entries: readonly ConntrackEntry[], mark: number): number {
  const native = loadNative();
  let n = 0;
  for (const e of entries) {
    const seq = randomInt(0, 2 ** 31);
    for (const s of [seq, (seq + 2 ** 31) >>> 0]) {
      native.sendTcpAck(e.dst, e.dport, e.src, e.sport, s, 0, mark);
    }
    n++;
  }
  return n;
}
