/** Sockets, servers and byte checks shared by the emulated-link tests. */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { TestContext } from 'node:test';
import { EmulatedLink, type EmulatedLinkOptions } from '../../src/lab/emulated-link/index.js';

export const sha256 = (buf: Buffer): string => createHash('sha256').update(buf).digest('hex');

export interface TestServer {
  server: Server;
  port: number;
  /** Server-side sockets, in accept order. */
  accepted: Socket[];
  /** Resolves with the n-th (0-based) accepted socket. */
  nth(n: number): Promise<Socket>;
  close(): Promise<void>;
}

/** A loopback server; `onSocket` decides what it does (echo, sink, nothing). */
export async function startServer(onSocket: (s: Socket) => void = () => {}): Promise<TestServer> {
  const accepted: Socket[] = [];
  const waiters = new Map<number, (s: Socket) => void>();
  const server = createServer({ allowHalfOpen: true }, (s) => {
    s.setNoDelay(true);
    s.on('error', () => {}); // faults are the point; tests watch for them explicitly
    accepted.push(s);
    waiters.get(accepted.length - 1)?.(s);
    onSocket(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const addr = server.address();
  if (addr === null || typeof addr !== 'object') throw new Error('no server address');
  return {
    server,
    port: addr.port,
    accepted,
    nth: (n) =>
      new Promise((resolve) => {
        const s = accepted[n];
        if (s !== undefined) resolve(s);
        else waiters.set(n, resolve);
      }),
    close: () => {
      for (const s of accepted) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** An echo server that respects backpressure and echoes the client's FIN. */
export const startEcho = (): Promise<TestServer> => startServer((s) => s.pipe(s));

export async function dial(port: number): Promise<Socket> {
  const s = connect({ host: '127.0.0.1', port, noDelay: true });
  await once(s, 'connect');
  return s;
}

/**
 * Collects at least n bytes from a flowing socket and returns all it got (callers assert the
 * length, so stray extra bytes fail the test); rejects on 'end' before n.
 */
export function readExactly(s: Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let got = 0;
    const onData = (chunk: Buffer): void => {
      parts.push(chunk);
      got += chunk.length;
      if (got >= n) {
        cleanup();
        resolve(Buffer.concat(parts));
      }
    };
    const onEnd = (): void => {
      cleanup();
      reject(new Error(`stream ended after ${got} of ${n} bytes`));
    };
    const cleanup = (): void => {
      s.off('data', onData);
      s.off('end', onEnd);
    };
    s.on('data', onData);
    s.on('end', onEnd);
  });
}

/** Reads until 'end' and returns everything; unlike for-await, leaves the socket open. */
export function readToEnd(s: Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    s.on('data', (chunk: Buffer) => parts.push(chunk));
    s.once('end', () => resolve(Buffer.concat(parts)));
    s.once('error', reject);
  });
}

export interface WriteReport {
  /** How many write() calls returned false. */
  falses: number;
}

/** Writes `data` in `chunk`-sized writes, waiting for 'drain' whenever write() says so. */
export async function writeAll(
  s: Socket,
  data: Buffer,
  chunk = 64 * 1024,
  onFalse?: (written: number) => void,
): Promise<WriteReport> {
  const report = { falses: 0 };
  for (let off = 0; off < data.length; off += chunk) {
    if (!s.write(data.subarray(off, off + chunk))) {
      report.falses++;
      onFalse?.(Math.min(off + chunk, data.length));
      await once(s, 'drain');
    }
  }
  return report;
}

export interface Rtt {
  min: number;
  median: number;
}

/** Round-trip times of `rounds` sequential small messages through an echo. */
export async function measureRtt(
  s: Socket,
  rounds: number,
  now: () => number,
  size = 32,
): Promise<Rtt> {
  const samples: number[] = [];
  const msg = Buffer.alloc(size, 0x5a);
  for (let i = 0; i < rounds; i++) {
    const t0 = now();
    const back = readExactly(s, size);
    s.write(msg);
    await back;
    samples.push(now() - t0);
  }
  samples.sort((a, b) => a - b);
  return {
    min: samples[0] ?? Number.NaN,
    median: samples[Math.floor(samples.length / 2)] ?? Number.NaN,
  };
}

/** A server (echo by default) behind a link, all torn down after the test. */
export async function rig(
  t: TestContext,
  opts: Omit<EmulatedLinkOptions, 'target'> = {},
  server?: TestServer,
): Promise<{ link: EmulatedLink; srv: TestServer; open: () => Promise<Socket> }> {
  const srv = server ?? (await startEcho());
  const link = await EmulatedLink.start({ ...opts, target: { host: '127.0.0.1', port: srv.port } });
  const clients: Socket[] = [];
  t.after(async () => {
    for (const c of clients) c.destroy();
    await link.close();
    await srv.close();
  });
  const open = async (): Promise<Socket> => {
    const c = await dial(link.address.port);
    c.on('error', () => {}); // tests that expect errors listen for them themselves
    clients.push(c);
    return c;
  };
  return { link, srv, open };
}
