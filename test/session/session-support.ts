import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { contentChunks } from '../../src/demo/content.js';
import { createServer, type RoamServer, type ServerOptions } from '../../src/session/server.js';
import type { Session } from '../../src/session/session.js';

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Writes deterministic content with backpressure, then ends the stream. */
export async function writeContent(stream: Duplex, seed: string, size: number): Promise<void> {
  for (const chunk of contentChunks(seed, size)) {
    for (let off = 0; off < chunk.length; off += 64 * 1024) {
      if (!stream.write(chunk.subarray(off, off + 64 * 1024))) await once(stream, 'drain');
    }
  }
  stream.end();
}

/** Writes `size` random bytes with backpressure, ends the stream, returns their SHA-256. */
export async function writeRandom(stream: Duplex, size: number): Promise<string> {
  const hash = createHash('sha256');
  for (let off = 0; off < size; off += 64 * 1024) {
    const chunk = randomBytes(Math.min(64 * 1024, size - off));
    hash.update(chunk);
    if (!stream.write(chunk)) await once(stream, 'drain');
  }
  stream.end();
  return hash.digest('hex');
}

/** Reads a stream to its end: total length and SHA-256. */
export function readAll(
  stream: Duplex,
  onBytes?: (total: number) => void,
): Promise<{ length: number; sha256: string }> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let length = 0;
    stream.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      length += chunk.length;
      onBytes?.(length);
    });
    stream.once('end', () => resolve({ length, sha256: hash.digest('hex') }));
    stream.once('error', reject);
  });
}

/** A server on loopback that hands each session to `onSession`; closed by the caller. */
export async function startServer(
  onSession: (s: Session) => void,
  options: ServerOptions = {},
): Promise<{ server: RoamServer; port: number }> {
  const server = createServer(options, onSession);
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  return { server, port };
}
