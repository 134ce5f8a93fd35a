/** node:http origins for the HTTP engine tests: Range, If-Range, stalls, changes, lies. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { TestContext } from 'node:test';

const KiB = 1024;

export interface Representation {
  body: Buffer;
  etag?: string;
  lastModified?: string;
  /** Honour Range and If-Range (default true); false: always a full 200, no Accept-Ranges. */
  ranges?: boolean;
  /** Send full 200s chunked (no Content-Length). */
  chunked?: boolean;
}

export interface SeenRequest {
  index: number;
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** Which uplink the request came through: its source address. */
  from: string;
}

export interface OriginOptions {
  /** What this request gets (content may change between requests, or differ by path). */
  resource: (req: SeenRequest) => Representation;
  /** Absolute offset at which this response stops sending and goes silent (a stall). */
  stallAt?: (req: SeenRequest) => number | undefined;
  /** Hold this response at an absolute offset until `until` resolves (a concurrent flow). */
  pause?: (req: SeenRequest) => { at: number; until: Promise<unknown> } | undefined;
  /** Close idle keep-alive connections after this long; default 60 s. */
  keepAliveTimeoutMs?: number;
  /** Answer a request yourself; return true when handled. */
  custom?: (req: IncomingMessage, res: ServerResponse, seen: SeenRequest) => boolean;
}

export interface Origin {
  port: number;
  requests: SeenRequest[];
  /** Resolves with the request whose response stalled, for the n-th stall (0-based). */
  stall(n: number): Promise<SeenRequest>;
  /** Resolves with the n-th request (0-based) once it arrived. */
  request(n: number): Promise<SeenRequest>;
  close(): Promise<void>;
}

/** A Last-Modified well before any Date the origin sends: a strong validator. */
export const LAST_MODIFIED = 'Mon, 01 Jan 2001 00:00:00 GMT';

/** An origin made with node:http that serves one resource with Range/If-Range support. */
export async function startOrigin(t: TestContext, opts: OriginOptions): Promise<Origin> {
  const requests: SeenRequest[] = [];
  const stalls: SeenRequest[] = [];
  const stallWaiters = new Map<number, (r: SeenRequest) => void>();
  const requestWaiters = new Map<number, (r: SeenRequest) => void>();
  const server = createServer((req, res) => {
    const seen: SeenRequest = {
      index: requests.length,
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      from: req.socket.remoteAddress ?? '',
    };
    requests.push(seen);
    requestWaiters.get(seen.index)?.(seen);
    req.resume();
    if (opts.custom?.(req, res, seen) === true) return;
    const rep = opts.resource(seen);
    const { status, from, to } = chooseRange(req.headers, rep);
    const headers: Record<string, string | number> = {};
    if (rep.etag !== undefined) headers['ETag'] = rep.etag;
    if (rep.lastModified !== undefined) headers['Last-Modified'] = rep.lastModified;
    if (rep.ranges !== false) headers['Accept-Ranges'] = 'bytes';
    if (status === 206) headers['Content-Range'] = `bytes ${from}-${to - 1}/${rep.body.length}`;
    if (status === 206 || rep.chunked !== true) headers['Content-Length'] = to - from;
    res.writeHead(status, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const stallAt = opts.stallAt?.(seen);
    void sendBody(res, rep.body, from, to, stallAt, opts.pause?.(seen), () => {
      stalls.push(seen);
      stallWaiters.get(stalls.length - 1)?.(seen);
    });
  });
  server.keepAliveTimeout = opts.keepAliveTimeoutMs ?? 60_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  const origin: Origin = {
    port: address.port,
    requests,
    stall: (n) =>
      new Promise((resolve) => {
        const s = stalls[n];
        if (s !== undefined) resolve(s);
        else stallWaiters.set(n, resolve);
      }),
    request: (n) =>
      new Promise((resolve) => {
        const r = requests[n];
        if (r !== undefined) resolve(r);
        else requestWaiters.set(n, resolve);
      }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  t.after(() => origin.close());
  return origin;
}

function chooseRange(
  headers: IncomingHttpHeaders,
  rep: Representation,
): { status: number; from: number; to: number } {
  const full = { status: 200, from: 0, to: rep.body.length };
  const range = headers.range;
  if (rep.ranges === false || range === undefined) return full;
  const ifRange = headers['if-range'];
  if (ifRange !== undefined && ifRange !== rep.etag && ifRange !== rep.lastModified) return full;
  const m = /^bytes=(\d*)-(\d*)$/.exec(range);
  if (m === null) return full;
  const size = rep.body.length;
  let from: number;
  let to: number;
  if (m[1] === '') {
    from = Math.max(0, size - Number(m[2]));
    to = size;
  } else {
    from = Number(m[1]);
    to = m[2] === '' ? size : Math.min(size, Number(m[2]) + 1);
  }
  return from < to ? { status: 206, from, to } : full;
}

async function sendBody(
  res: ServerResponse,
  body: Buffer,
  from: number,
  to: number,
  stallAt: number | undefined,
  pause: { at: number; until: Promise<unknown> } | undefined,
  stalled: () => void,
): Promise<void> {
  const stop = stallAt !== undefined && stallAt >= from && stallAt < to ? stallAt : to;
  let at = from;
  while (at < stop && !res.destroyed) {
    if (pause !== undefined && at >= pause.at) {
      await pause.until;
      pause = undefined;
    }
    const end = Math.min(stop, at + 64 * KiB, pause?.at ?? Infinity);
    const ok = res.write(body.subarray(at, end));
    at = end;
    if (!ok) await drainOrClose(res);
  }
  if (res.destroyed) return;
  if (stop < to)
    stalled(); // and say nothing more: the connection stays open, silent
  else res.end();
}

function drainOrClose(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
