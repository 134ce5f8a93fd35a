import { createServer, type Server, type Socket } from 'node:net';
import { RoamError } from '../../errors.js';
import type { HostPort } from './options.js';

/** Listens on `at` (port 0: any) and resolves with the server and the port it got. */
export async function listen(
  name: string,
  at: HostPort,
  onSocket: (s: Socket) => void,
): Promise<{ server: Server; address: HostPort }> {
  const server = createServer({ allowHalfOpen: true }, onSocket);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(at.port, at.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new RoamError(
      'ROAM_LINK_LISTEN',
      `link "${name}": cannot listen on ${at.host}:${at.port} (${code}); free the port or use port 0`,
      { cause: err },
    );
  }
  // After listening, an error here concerns one incoming connection (e.g. EMFILE on accept);
  // that client simply fails to connect, which is what a path would do too.
  server.on('error', () => {});
  const bound = server.address();
  const port = bound !== null && typeof bound === 'object' ? bound.port : at.port;
  return { server, address: { host: at.host, port } };
}

/** Resolves once the listener is closed and every socket it accepted has closed. */
export function closeServer(server: Server | undefined): Promise<void> {
  if (server === undefined) return Promise.resolve();
  return new Promise((resolve) => server.close(() => resolve()));
}
