// Bulk transfer over one stream, the same way for plain `net` and for a roam session, so
// bench/session-overhead compares like with like: one sender writing WRITE-byte chunks with
// backpressure, one receiver counting bytes, who ends its own side when the sender's end
// arrives; the sender's clock stops when that end comes back.
//
// Run as a process (`node bulk.js sink net|roam`) it is the receiving end in a process of its
// own, printing JSON lines on stdout: {"event":"listening","port":N}, then one
// {"event":"done","bytes":N,"cpuUs":N} per transfer (its CPU time during that transfer).
import { once } from 'node:events';
import { connect as tlsConnect, createServer as tlsServer } from 'node:tls';
import { createServer as netServer, connect as netConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { connect as roamConnect, createServer as roamServer } from '../../src/session/index.js';
import { readCredentials, selfSignedCertificate } from '../../test/session/tls-credentials.js';

export type Kind = 'net' | 'roam' | 'tls' | 'roam-tls';
export const KINDS: readonly Kind[] = ['net', 'roam', 'tls', 'roam-tls'];

/**
 * TLS credentials for the tls kinds: a self-signed certificate for 127.0.0.1 that the
 * benchmark makes with openssl and hands to its child processes through ROAM_BULK_TLS_DIR
 * (not a BENCH_* option: the parent sets it, a user never does).
 */
export function makeTlsCredentials(): string {
  const { dir } = selfSignedCertificate();
  process.env.ROAM_BULK_TLS_DIR = dir;
  return dir;
}

function credentials(): { key: Buffer; cert: Buffer } {
  const dir = process.env.ROAM_BULK_TLS_DIR;
  if (!dir) throw new Error('ROAM_BULK_TLS_DIR is not set: call makeTlsCredentials() first');
  return readCredentials(dir);
}

/** Session options for the bulk runs: defaults, except liveness relaxed (one busy core). */
export const roamOptions = { keepaliveIntervalMs: 1000, deadAfterMs: 10_000 };

export interface Sink {
  port: number;
  close(): void;
}

/** The receiving end: counts bytes, answers the sender's end with its own. */
function receive(stream: Duplex, done?: (bytes: number, cpuUs: number) => void): void {
  const cpu = process.cpuUsage();
  let bytes = 0;
  stream.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  stream.on('error', () => undefined);
  stream.once('end', () => {
    stream.end();
    const used = process.cpuUsage(cpu);
    done?.(bytes, used.user + used.system);
  });
}

export async function startSink(
  kind: Kind,
  done?: (bytes: number, cpuUs: number) => void,
): Promise<Sink> {
  if (kind === 'net' || kind === 'tls') {
    const onSocket = (socket: Socket) => {
      socket.setNoDelay(true);
      receive(socket, done);
    };
    const server =
      kind === 'net'
        ? netServer({ allowHalfOpen: true }, onSocket)
        : tlsServer({ ...credentials(), allowHalfOpen: true, minVersion: 'TLSv1.3' }, onSocket);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    return { port, close: () => server.close() };
  }
  const tls = kind === 'roam-tls' ? { tls: credentials() } : {};
  const server = roamServer({ ...roamOptions, ...tls }, (session) => receive(session, done));
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  return {
    port,
    close: () => {
      void server.close();
      server.destroyAll();
    },
  };
}

export interface SendResult {
  bytes: number;
  ms: number;
  /** This process's CPU time (user + system) during the transfer, µs. */
  cpuUs: number;
}

/** Sends `total` bytes in `write`-byte chunks; resolves when the receiver's end arrives. */
export async function send(
  kind: Kind,
  port: number,
  total: number,
  write: number,
): Promise<SendResult> {
  let stream: Duplex;
  if (kind === 'net') stream = netConnect({ host: '127.0.0.1', port, allowHalfOpen: true });
  else if (kind === 'tls') {
    stream = tlsConnect({
      host: '127.0.0.1',
      port,
      ca: credentials().cert,
      minVersion: 'TLSv1.3',
    });
  } else {
    const tls = kind === 'roam-tls' ? { tls: { ca: credentials().cert } } : {};
    stream = roamConnect({ host: '127.0.0.1', port, ...roamOptions, ...tls });
  }
  await once(stream, kind === 'tls' ? 'secureConnect' : 'connect');
  if (kind === 'net' || kind === 'tls') (stream as Socket).setNoDelay(true);
  const chunk = Buffer.alloc(write, 0x5a);
  const ended = new Promise<void>((resolve, reject) => {
    stream.once('error', reject);
    stream.once('end', resolve);
    stream.resume();
  });
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  let sent = 0;
  while (sent < total) {
    const n = Math.min(write, total - sent);
    const ok = stream.write(n === write ? chunk : chunk.subarray(0, n));
    sent += n;
    if (!ok) await once(stream, 'drain');
  }
  stream.end();
  await ended;
  const ms = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  stream.destroy();
  return { bytes: sent, ms, cpuUs: used.user + used.system };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [mode, kind] = process.argv.slice(2);
  if (mode !== 'sink' || !KINDS.includes(kind as Kind)) {
    process.stderr.write('usage: bulk sink net|roam|tls|roam-tls\n');
    process.exit(2);
  }
  const say = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);
  const sink = await startSink(kind as Kind, (bytes, cpuUs) =>
    say({ event: 'done', bytes, cpuUs }),
  );
  say({ event: 'listening', port: sink.port });
  process.stdin.resume();
  process.stdin.once('end', () => {
    sink.close();
    process.exit(0);
  });
}
