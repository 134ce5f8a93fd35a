import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { connect, createServer, type Session } from '../session/index.js';
import { contentChunks } from './content.js';
import { DEMO_SESSION_TIMING } from './scenario.js';
import type { FetchEvents } from './transfer.js';

/** The demo's roam side: the same content as the TCP server, over roam sessions. */
export async function startRoamDemoServer(opts: {
  host: string;
  port?: number;
  seed: string;
  size: number;
}) {
  const server = createServer(DEMO_SESSION_TIMING, (session) => {
    session.on('error', () => session.destroy());
    session.resume();
    const chunks = contentChunks(opts.seed, opts.size);
    const pump = () => {
      for (let next = chunks.next(); !next.done; next = chunks.next()) {
        if (!session.write(next.value)) return void session.once('drain', pump);
      }
      session.end();
    };
    pump();
  });
  const { port } = await server.listen({ host: opts.host, port: opts.port ?? 0 });
  return {
    port,
    close: async () => {
      await server.close();
      server.destroyAll();
    },
  };
}

/**
 * Downloads over a roam session. `localAddress` is asked again at every reconnect, so a
 * client whose interface was renumbered reconnects from its new address.
 */
export class RoamFetch extends EventEmitter<FetchEvents> {
  bytes = 0;
  readonly session: Session;

  constructor(opts: { host: string; port: number; localAddress?: () => string | undefined }) {
    super();
    const hash = createHash('sha256');
    this.session = connect({
      ...DEMO_SESSION_TIMING,
      resolve: () => ({ host: opts.host, port: opts.port, localAddress: opts.localAddress?.() }),
    });
    this.session.end();
    this.session.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      this.bytes += chunk.length;
      this.emit('progress', this.bytes);
    });
    this.session.on('end', () =>
      this.emit('done', { bytes: this.bytes, sha256: hash.digest('hex') }),
    );
    this.session.on('error', (err: Error & { code?: string }) =>
      this.emit('failed', { bytes: this.bytes, code: err.code ?? err.message }),
    );
  }

  stop(): void {
    this.session.destroy();
  }
}
