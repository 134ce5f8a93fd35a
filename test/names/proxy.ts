import { connect, createServer, type Server, type Socket } from 'node:net';
import type { TestContext } from 'node:test';

/**
 * A TCP proxy on 127.0.0.1 that a test can cut (every open connection destroyed at once, as
 * when a network goes away) and hold (new connections wait, unconnected, until release), so
 * "what happens while the watcher is away" is decided by the test, not by timing.
 */
export class CutProxy {
  accepted = 0;
  private readonly pairs = new Set<[Socket, Socket]>();
  private readonly waiting: Socket[] = [];
  private held = false;

  private constructor(
    private readonly server: Server,
    private readonly target: number,
  ) {
    server.on('connection', (client) => {
      this.accepted++;
      client.on('error', () => undefined);
      if (this.held) this.waiting.push(client);
      else this.forward(client);
    });
  }

  static async start(t: TestContext, targetPort: number): Promise<CutProxy> {
    const server = createServer();
    const proxy = new CutProxy(server, targetPort);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => proxy.close());
    return proxy;
  }

  get url(): string {
    const addr = this.server.address();
    return `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  }

  hold(): void {
    this.held = true;
  }

  release(): void {
    this.held = false;
    for (const c of this.waiting.splice(0)) this.forward(c);
  }

  /**
   * Stops forwarding on every open connection without closing it (as a member cut off by a
   * partition: the sockets stay up, nothing arrives); new connections wait. thaw() undoes it.
   */
  freeze(): void {
    this.held = true;
    for (const [a, b] of this.pairs) {
      a.unpipe(b);
      b.unpipe(a);
      a.pause();
      b.pause();
    }
  }

  thaw(): void {
    for (const [a, b] of this.pairs) {
      a.pipe(b);
      b.pipe(a);
    }
    this.release();
  }

  cut(): void {
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
  }

  close(): Promise<void> {
    this.cut();
    for (const c of this.waiting.splice(0)) c.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private forward(client: Socket): void {
    const upstream = connect(this.target, '127.0.0.1');
    upstream.on('error', () => client.destroy());
    const pair: [Socket, Socket] = [client, upstream];
    this.pairs.add(pair);
    const done = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', done);
    upstream.on('close', done);
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
