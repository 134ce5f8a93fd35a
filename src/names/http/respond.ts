import type { ServerResponse } from 'node:http';
import { RoamError } from '../../errors.js';
import { rootLogger } from '../../log/logger.js';
import { httpStatusOf, NamesError } from '../codes.js';

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendJsonText(res, status, JSON.stringify(body));
}

/** A body already serialized (a cached lookup answer). */
export function sendJsonText(res: ServerResponse, status: number, text: string): void {
  // A flat header list goes to node:http's header writer as it is (no object to walk).
  res.writeHead(status, [
    'content-type',
    'application/json; charset=utf-8',
    'content-length',
    String(Buffer.byteLength(text)),
    'cache-control',
    'no-store',
  ]);
  res.end(text);
}

/** Every error is `{ code, message }` (plus details such as currentVersion or retryAfterMs). */
export function sendError(res: ServerResponse, err: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const status = httpStatusOf(err);
  // 503 (the store is unreachable) is the caller's to know and retry; other 5xx are ours.
  const told = err instanceof RoamError && (status < 500 || status === 503);
  if (!(err instanceof RoamError) || status >= 500)
    rootLogger()[status === 503 ? 'warn' : 'error']({ err }, 'names server: request failed');
  const body = told
    ? { code: err.code, message: err.message, ...(err instanceof NamesError ? err.details : {}) }
    : { code: 'ROAM_NAMES_INTERNAL', message: 'internal error; the server log has the cause' };
  if (err instanceof NamesError && typeof err.details?.retryAfterMs === 'number')
    res.setHeader('retry-after', String(Math.ceil(err.details.retryAfterMs / 1000)));
  if (status === 413) res.setHeader('connection', 'close');
  sendJson(res, status, body);
}
