import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { rootLogger } from '../log/logger.js';
import { controlProofInput, decodeControl, encodeControl } from '../wire/index.js';
import { hmac, proofMatches } from './secret.js';
import type { Session } from './session.js';

/**
 * The client's connectionless control socket (the paper's CCSA): it waits for the server's
 * RECONNECT after the server moved, checks that it proves the session secret and is newer
 * than any seen (so a replayed RECONNECT cannot send us anywhere), acknowledges it, and
 * hands the new address to the client driver.
 */
export class ClientControl {
  private socket: UdpSocket | undefined;
  private bound: Promise<number> | undefined;
  private lastCounter = 0;

  constructor(
    private readonly session: Session,
    private readonly onReconnect: (to: { host: string; port: number }) => void,
  ) {}

  /** Starts binding for flowpaths to `host`'s family now, so that address() need not wait. */
  prepare(host: string): void {
    this.bound ??= this.bind(isIPv6(host) ? 'udp6' : 'udp4');
    this.bound.catch(() => undefined); // address() reports a failure
  }

  /** The address to advertise in HELLO: the flowpath's local address and our UDP port. */
  async address(localAddress: string | undefined): Promise<{ host: string; port: number } | null> {
    if (!localAddress) return null;
    this.bound ??= this.bind(isIPv6(localAddress) ? 'udp6' : 'udp4');
    const port = await this.bound;
    return { host: localAddress, port };
  }

  private bind(type: 'udp4' | 'udp6'): Promise<number> {
    const socket = createSocket(type);
    this.socket = socket;
    socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo.address, rinfo.port));
    socket.on('error', (err) => rootLogger().warn({ err: err.message }, 'control socket error'));
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, () => {
        socket.unref();
        resolve(socket.address().port);
      });
    });
  }

  private onMessage(datagram: Buffer, host: string, port: number): void {
    let msg;
    try {
      msg = decodeControl(datagram);
    } catch {
      return; // not ours, or garbage: a datagram is never worth an answer
    }
    if (msg.type !== 'reconnect' || !msg.connId.equals(this.session.connId) || !msg.addr) return;
    if (!proofMatches(this.session.secret, controlProofInput(msg), msg.proof)) {
      rootLogger().warn(
        { session: this.session.id, from: host },
        'RECONNECT with a bad proof ignored',
      );
      return;
    }
    if (msg.counter < this.lastCounter) return;
    const ack = {
      type: 'reconnect-ack' as const,
      connId: msg.connId,
      counter: msg.counter,
      addr: null,
      proof: Buffer.alloc(32) as Buffer,
    };
    ack.proof = hmac(this.session.secret, controlProofInput(ack));
    this.socket?.send(encodeControl(ack), port, host);
    if (msg.counter === this.lastCounter) return; // a retransmission: acknowledged again, acted on once
    this.lastCounter = msg.counter;
    this.onReconnect(msg.addr);
  }

  close(): void {
    this.socket?.close();
    this.socket = undefined;
  }
}
