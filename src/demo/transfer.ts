import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { contentChunks } from './content.js';

/**
 * The demo's plain-TCP application: a server that sends deterministic content to whoever
 * connects (and echoes on a second port, for RTT probes), and a client that downloads it.
 */

export interface DemoServer {
  dataPort: number;
  echoPort: number;
  close(): Promise<void>;
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    });
  });
}

export async function startDemoServer(opts: {
  host: string;
  dataPort?: number;
  echoPort?: number;
  seed: string;
  size: number;
}): Promise<DemoServer> {
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  const data = createServer((socket) => {
    track(socket);
    const chunks = contentChunks(opts.seed, opts.size);
    const pump = () => {
      for (let next = chunks.next(); !next.done; next = chunks.next()) {
        if (!socket.write(next.value)) return void socket.once('drain', pump);
      }
      socket.end();
    };
    pump();
  });
  const echo = createServer((socket) => {
    track(socket);
    socket.pipe(socket);
  });
  const dataPort = await listen(data, opts.host, opts.dataPort ?? 0);
  const echoPort = await listen(echo, opts.host, opts.echoPort ?? 0);
  return {
    dataPort,
    echoPort,
    close: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all([new Promise((r) => data.close(r)), new Promise((r) => echo.close(r))]);
    },
  };
}

export interface FetchEvents {
  progress: [bytes: number];
  done: [result: { bytes: number; sha256: string }];
  failed: [result: { bytes: number; code: string }];
}

/** Downloads from a demo server; reports progress, then `done` (with SHA-256) or `failed`. */
export class Fetch extends EventEmitter<FetchEvents> {
  bytes = 0;
  private readonly socket: Socket;

  constructor(opts: { host: string; port: number; localAddress?: string }) {
    super();
    const hash = createHash('sha256');
    this.socket = connect({ host: opts.host, port: opts.port, localAddress: opts.localAddress });
    this.socket.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      this.bytes += chunk.length;
      this.emit('progress', this.bytes);
    });
    this.socket.on('end', () =>
      this.emit('done', { bytes: this.bytes, sha256: hash.digest('hex') }),
    );
    this.socket.on('error', (err: NodeJS.ErrnoException) =>
      this.emit('failed', { bytes: this.bytes, code: err.code ?? err.message }),
    );
  }

  stop(): void {
    this.socket.destroy();
  }
}
