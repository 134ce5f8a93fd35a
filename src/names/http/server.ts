import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rootLogger } from '../../log/logger.js';
import { namesError } from '../codes.js';
import type { NameService } from '../service.js';
import { readJsonBody } from './body.js';
import { type NamesServerConfig, verifyServerConfig } from './options.js';
import { RateLimiter } from './rate-limit.js';
import { sendError, sendJson, sendJsonText } from './respond.js';
import { handleWatch, WatchRegistry } from './watch.js';

export interface NamesServer {
  /** `http://host:port`, with the port the kernel chose when asked for 0. */
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  /** Stops accepting, ends every watch stream and waits for connections to close. */
  close(): Promise<void>;
}

/**
 * The HTTP/JSON API of docs/names-api.md on node:http. Limits come first: the per-source
 * budget is charged before a body is read, the body is bounded, and the per-key budget is
 * charged only once a signature verified (NameService's `admit`).
 */
export async function startNamesServer(
  service: NameService,
  options: Partial<NamesServerConfig> = {},
): Promise<NamesServer> {
  const config = verifyServerConfig(options);
  const reads = new RateLimiter('from this address', config.readRate, config.clock);
  const writes = new RateLimiter('from this address', config.writeRatePerSource, config.clock);
  const keys = new RateLimiter('for this key', config.writeRatePerKey, config.clock);
  const watches = new WatchRegistry(config.maxWatchesPerSource);
  const admit = (key: string) => keys.take(key);

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://names.invalid');
    const source = req.socket.remoteAddress ?? 'unknown';
    const [, v1, collection, arg, sub, ...rest] = url.pathname.split('/');
    const method = req.method ?? 'GET';
    const allow = (methods: string[]) => {
      if (!methods.includes(method)) {
        res.setHeader('allow', methods.join(', '));
        throw namesError(
          'ROAM_NAMES_METHOD',
          `${method} is not allowed on ${url.pathname}; use ${methods.join(' or ')}`,
        );
      }
      (method === 'GET' ? reads : writes).take(source);
    };
    const body = () => readJsonBody(req, config.maxBodyBytes);
    const segment = decodeSegment(arg);
    if (v1 !== 'v1' || rest.length) throw noRoute(url);
    if (collection === 'health' && arg === undefined) {
      allow(['GET']);
      return sendJson(res, 200, {
        ok: true,
        store: service.store.id,
        revision: await service.store.revision(),
      });
    }
    if (collection === 'names' && arg === undefined) {
      allow(['POST']);
      return sendJson(res, 201, await service.register(await body(), admit));
    }
    if (collection === 'names' && segment !== undefined && sub === undefined) {
      allow(['GET', 'PUT', 'DELETE']);
      if (method === 'GET') return sendJsonText(res, 200, await service.lookupJson(segment));
      if (method === 'PUT')
        return sendJson(res, 200, await service.update(segment, await body(), admit));
      return sendJson(res, 200, await service.remove(segment, await body(), admit));
    }
    if (collection === 'users' && segment !== undefined && sub === 'devices') {
      allow(['GET']);
      return sendJson(res, 200, { user: segment, devices: await service.listDevices(segment) });
    }
    if (collection === 'heartbeat' && arg === undefined) {
      allow(['POST']);
      return sendJson(res, 200, await service.heartbeat(await body(), admit));
    }
    if (collection === 'watch' && arg === undefined) {
      allow(['GET']);
      return handleWatch(req, res, url, source, service.store, watches, config);
    }
    reads.take(source);
    throw noRoute(url);
  };

  const server = createServer(
    {
      requestTimeout: 10_000,
      headersTimeout: 5_000,
      keepAliveTimeout: 5_000,
      maxHeaderSize: 16 * 1024,
    },
    (req, res) => {
      route(req, res).catch((err: unknown) => sendError(res, err));
    },
  );
  server.on('clientError', (err, socket) => {
    rootLogger().debug({ err }, 'names server: bad request from client');
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(
        namesError(
          'ROAM_NAMES_CONFIG',
          `cannot listen on ${config.host}:${config.port}: ${err.message}`,
          { cause: err },
        ),
      ),
    );
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    server,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        // In-flight requests get a moment to finish; then every connection is cut.
        const force = setTimeout(() => server.closeAllConnections(), 1000);
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        watches.closeAll();
        server.closeIdleConnections();
      })),
  };
}

function decodeSegment(segment: string | undefined): string | undefined {
  if (segment === undefined || segment === '') return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    throw namesError(
      'ROAM_NAMES_BAD_NAME',
      `"${segment.slice(0, 80)}" is not a valid percent-encoded name`,
    );
  }
}

function noRoute(url: URL) {
  return namesError(
    'ROAM_NAMES_NO_ROUTE',
    `no such endpoint ${url.pathname}; see docs/names-api.md`,
  );
}
