import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { controlProofInput, decodeControl, encodeControl } from '../wire/index.js';
import { hmac, proofMatches } from './secret.js';
import type { Session } from './session.js';

export interface ReconnectResult {
  session: string;
  acked: boolean;
  tries: number;
}

/**
 * The server's connectionless control socket (the paper's SCSA): after the server moved, it
 * tells each client where it is now with RECONNECT, stop-and-wait: one message per client,
 * resent after a fixed timeout, at most `tries` times, until the client's authenticated ack.
 */
export class ServerControl {
  private socket: UdpSocket | undefined;
  private counter = 0;
  private readonly waiting = new Map<string, (ackCounter: number) => void>();

  constructor(
    private readonly timeoutMs: number,
    private readonly tries: number,
  ) {}

  async bind(host: string): Promise<void> {
    this.close();
    const socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    this.socket = socket;
    socket.on('message', (msg) => this.onMessage(msg));
    socket.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, host, () => resolve());
    });
    socket.unref();
  }

  /** Where RECONNECT goes out from (and acknowledgments come back to). */
  address(): { host: string; port: number } | undefined {
    if (!this.socket) return undefined;
    const a = this.socket.address();
    return { host: a.address, port: a.port };
  }

  reconnect(session: Session, to: { host: string; port: number }): Promise<ReconnectResult> {
    const peer = session.peerControl;
    const socket = this.socket;
    if (!peer || !socket) return Promise.resolve({ session: session.id, acked: false, tries: 0 });
    const msg = {
      type: 'reconnect' as const,
      connId: session.connId,
      counter: ++this.counter,
      addr: to,
      proof: Buffer.alloc(32) as Buffer,
    };
    msg.proof = hmac(session.secret, controlProofInput(msg));
    const datagram = encodeControl(msg);
    return new Promise<ReconnectResult>((resolve) => {
      let tries = 0;
      let timer: NodeJS.Timeout | undefined;
      const finish = (acked: boolean) => {
        if (timer) clearTimeout(timer);
        this.waiting.delete(session.id);
        resolve({ session: session.id, acked, tries });
      };
      this.waiting.set(session.id, (ackCounter) => ackCounter === msg.counter && finish(true));
      const send = () => {
        if (tries >= this.tries || session.destroyed) return finish(false);
        tries++;
        socket.send(datagram, peer.port, peer.host);
        timer = setTimeout(send, this.timeoutMs);
      };
      send();
    });
  }

  private sessionsById = new Map<string, Session>();

  track(session: Session): void {
    this.sessionsById.set(session.id, session);
    session.once('close', () => this.sessionsById.delete(session.id));
  }

  private onMessage(datagram: Buffer): void {
    let msg;
    try {
      msg = decodeControl(datagram);
    } catch {
      return;
    }
    if (msg.type !== 'reconnect-ack') return;
    const id = msg.connId.toString('hex');
    const session = this.sessionsById.get(id);
    const waiter = this.waiting.get(id);
    if (!session || !waiter || !proofMatches(session.secret, controlProofInput(msg), msg.proof))
      return;
    waiter(msg.counter);
  }

  close(): void {
    this.socket?.close();
    this.socket = undefined;
  }
}
