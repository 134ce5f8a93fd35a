import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rootLogger } from '../../log/logger.js';
import { namesError } from '../codes.js';
import type { LookupOptions, NameService } from '../service.js';
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
  // On a store several servers share: this server's presence, published in batches.
  const publisher = service.startPresencePublisher();

  /**
   * Dispatches one request. The path is split by hand (no URL object: the watch alone needs
   * the query, and builds one); a lookup the cache can answer is answered synchronously.
   */
  const route = (req: IncomingMessage, res: ServerResponse): Promise<void> | void => {
    const raw = req.url ?? '/';
    // Origin-form (/v1/...) is what clients send; anything else (absolute-form) goes through URL.
    const target = raw.startsWith('/') ? raw : originForm(raw);
    const query = target.indexOf('?');
    const pathname = query < 0 ? target : target.slice(0, query);
    const [empty, v1, collection, arg, sub, ...rest] = pathname.split('/');
    const method = req.method ?? 'GET';
    const source = req.socket.remoteAddress ?? 'unknown';
    const allow = (methods: readonly string[]) => {
      if (!methods.includes(method)) {
        res.setHeader('allow', methods.join(', '));
        throw namesError(
          'ROAM_NAMES_METHOD',
          `${method} is not allowed on ${pathname}; use ${methods.join(' or ')}`,
        );
      }
      (method === 'GET' ? reads : writes).take(source);
    };
    if (empty !== '' || v1 !== 'v1' || rest.length) {
      reads.take(source);
      throw noRoute(pathname);
    }
    const segment = decodeSegment(arg);
    if (collection === 'names' && segment !== undefined && sub === undefined) {
      allow(NAME_METHODS);
      if (method === 'GET') {
        const opts = query < 0 ? NO_OPTIONS : lookupOptions(target.slice(query + 1));
        const cached = opts.linearizable
          ? undefined
          : service.cachedLookupJson(segment, opts.minRevision);
        if (cached !== undefined) return sendJsonText(res, 200, cached);
        return service.lookupJson(segment, opts).then((json) => sendJsonText(res, 200, json));
      }
      return writeName(req, res, method, segment);
    }
    return routeOthers(req, res, collection, arg, segment, sub, pathname, target, allow, source);
  };

  const writeName = async (
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    name: string,
  ): Promise<void> => {
    const body = await readJsonBody(req, config.maxBodyBytes);
    if (method === 'PUT') return sendJson(res, 200, await service.update(name, body, admit));
    return sendJson(res, 200, await service.remove(name, body, admit));
  };

  const routeOthers = async (
    req: IncomingMessage,
    res: ServerResponse,
    collection: string | undefined,
    arg: string | undefined,
    segment: string | undefined,
    sub: string | undefined,
    pathname: string,
    target: string,
    allow: (methods: readonly string[]) => void,
    source: string,
  ): Promise<void> => {
    const body = () => readJsonBody(req, config.maxBodyBytes);
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
      const url = urlOf(target);
      return handleWatch(req, res, url, source, service.store, watches, config);
    }
    reads.take(source);
    throw noRoute(pathname);
  };

  const server = createServer(
    {
      requestTimeout: 10_000,
      headersTimeout: 5_000,
      keepAliveTimeout: 5_000,
      maxHeaderSize: 16 * 1024,
      // Node's default, said out loud: a watch event or an answer leaves at once, no Nagle wait.
      noDelay: true,
    },
    (req, res) => {
      try {
        route(req, res)?.catch((err: unknown) => sendError(res, err));
      } catch (err) {
        sendError(res, err);
      }
    },
  );
  server.once('close', () => publisher?.close());
  server.on('clientError', (err, socket) => {
    rootLogger().debug({ err }, 'names server: bad request from client');
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => {
      publisher?.close();
      reject(
        namesError(
          'ROAM_NAMES_CONFIG',
          `cannot listen on ${config.host}:${config.port}: ${err.message}`,
          { cause: err },
        ),
      );
    });
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
        publisher?.close();
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

function noRoute(pathname: string) {
  return namesError(
    'ROAM_NAMES_NO_ROUTE',
    `no such endpoint ${pathname.slice(0, 200)}; see docs/names-api.md`,
  );
}

function urlOf(target: string): URL {
  try {
    return new URL(target, 'http://names.invalid');
  } catch {
    throw namesError('ROAM_NAMES_NO_ROUTE', 'the request target is not a URL');
  }
}

function originForm(target: string): string {
  const url = urlOf(target);
  return url.pathname + url.search;
}

const NAME_METHODS = ['GET', 'PUT', 'DELETE'] as const;
const NO_OPTIONS: LookupOptions = {};

/** `minRevision=R` (a store revision the client saw) and `linearizable=true|false`. */
export function lookupOptions(query: string): LookupOptions {
  const opts: { minRevision?: number; linearizable?: boolean } = {};
  for (const [key, value] of new URLSearchParams(query)) {
    if (key === 'minRevision' && /^\d{1,16}$/.test(value) && Number.isSafeInteger(Number(value)))
      opts.minRevision = Number(value);
    else if (key === 'linearizable' && (value === 'true' || value === 'false'))
      opts.linearizable = value === 'true';
    else
      throw namesError(
        'ROAM_NAMES_INVALID',
        `lookup parameter ${key.slice(0, 40)}=${value.slice(0, 40)} is not understood; use minRevision=REVISION and linearizable=true|false`,
      );
  }
  return opts;
}
