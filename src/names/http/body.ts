import type { IncomingMessage } from 'node:http';
import { namesError } from '../codes.js';

/**
 * Reads a JSON request body of at most `limit` bytes. A declared Content-Length above the
 * limit is refused before a byte is read; a body that grows past it is refused as soon as
 * it does, so a client cannot make the server buffer more than `limit`.
 */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  if (size === 0)
    throw namesError('ROAM_NAMES_BAD_JSON', 'the request has no body; send a JSON object');
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw namesError('ROAM_NAMES_BAD_JSON', 'the request body is not valid JSON');
  }
}

function tooLarge(limit: number) {
  return namesError('ROAM_NAMES_TOO_LARGE', `the request body is larger than ${limit} bytes`);
}
