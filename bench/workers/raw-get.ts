// A minimal HTTP/1.1 keep-alive client for the lookup load of bench/names: one request at a
// time per connection, the request bytes prepared once, the response framed by its
// Content-Length. node:http's client costs the load process several times the server's CPU
// per request, so on a 2-core machine it, not the server, would set the lookup rate (as
// wrk's lean client does for C servers, this leaves the cores to the server).
import { connect, type Socket } from 'node:net';

const HEADER_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i;

export class RawGetConnection {
  private buffered: Buffer = Buffer.alloc(0);
  private waiting: { resolve: () => void; reject: (err: Error) => void } | undefined;
  private failure: Error | undefined;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed')));
  }

  static open(host: string, port: number): Promise<RawGetConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawGetConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  /** The bytes of `GET path` to `host` (a request to send again and again). */
  static request(host: string, path: string): Buffer {
    return Buffer.from(`GET ${path} HTTP/1.1\r\nhost: ${host}\r\naccept: application/json\r\n\r\n`);
  }

  /** Sends one request; resolves when the whole response arrived with a 2xx status. */
  get(request: Buffer): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.waiting) return Promise.reject(new Error('one request at a time'));
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(request);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    const end = this.buffered.indexOf(HEADER_END);
    if (end < 0) return;
    const head = this.buffered.toString('latin1', 0, end);
    const length = CONTENT_LENGTH.exec(head)?.[1];
    if (length === undefined) return this.fail(new Error('response without content-length'));
    const total = end + HEADER_END.length + Number(length);
    if (this.buffered.length < total) return;
    if (this.buffered.length > total) return this.fail(new Error('more bytes than one response'));
    this.buffered = Buffer.alloc(0);
    const status = Number(head.slice(9, 12));
    const waiting = this.waiting;
    this.waiting = undefined;
    if (!waiting) return this.fail(new Error('a response nobody asked for'));
    if (status >= 200 && status < 300) waiting.resolve();
    else waiting.reject(new Error(`HTTP ${status}`));
  }

  private fail(err: Error): void {
    this.failure ??= err;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(err);
    this.socket.destroy();
  }
}
