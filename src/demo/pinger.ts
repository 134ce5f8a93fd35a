import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';

export interface PingerOptions {
  host: string;
  port: number;
  localAddress?: string;
  intervalMs?: number;
  /** A ping unanswered this long is lost, and its connection with it. */
  timeoutMs?: number;
}

/**
 * Ping-pong over a TCP connection through a path: the path's RTT as an application sees it.
 * A ping unanswered for `timeoutMs` is taken as lost with its connection: a stalled
 * in-process link drops the byte for good (TCP there never retransmits it), and a real one
 * may hold it in TCP's retransmission backoff for seconds after the path is back. So the
 * pinger opens a new connection and pings on it: RTTs resume as soon as the path does.
 *
 *   idle ──tick: send──▶ waiting ──reply──▶ idle
 *                          └──timeout, error: new connection──▶ idle
 */
export class Pinger extends EventEmitter<{ rtt: [ms: number] }> {
  private socket: Socket | undefined;
  private state: 'idle' | 'waiting' | 'stopped' = 'idle';
  private sentAt = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly timeoutMs: number;

  constructor(private readonly opts: PingerOptions) {
    super();
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.open();
    this.timer = setInterval(() => this.tick(), opts.intervalMs ?? 250);
  }

  stop(): void {
    this.state = 'stopped';
    clearInterval(this.timer);
    this.socket?.destroy();
    this.socket = undefined;
  }

  private open(): void {
    const socket = connect({
      host: this.opts.host,
      port: this.opts.port,
      localAddress: this.opts.localAddress,
      noDelay: true,
    });
    this.socket = socket;
    socket.on('error', () => {
      // The next tick opens a new connection: at most one attempt per interval.
      if (this.socket !== socket) return;
      socket.destroy();
      this.socket = undefined;
      if (this.state === 'waiting') this.state = 'idle';
    });
    socket.on('data', () => {
      if (this.socket !== socket || this.state !== 'waiting') return;
      this.state = 'idle';
      this.emit('rtt', performance.now() - this.sentAt);
    });
  }

  private tick(): void {
    switch (this.state) {
      case 'stopped':
        return;
      case 'waiting':
        if (performance.now() - this.sentAt < this.timeoutMs) return;
        this.socket?.destroy();
        this.socket = undefined;
        this.state = 'idle';
        this.open();
        return;
      case 'idle':
        if (!this.socket) return this.open();
        this.state = 'waiting';
        this.sentAt = performance.now();
        this.socket.write('p');
        return;
      default: {
        const never: never = this.state;
        return never;
      }
    }
  }
}
