import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { RoamError } from '../../errors.js';
import { isNamesCode, namesError } from '../codes.js';

/**
 * The client's HTTP: JSON in, JSON out, one keep-alive agent per client (closed with it).
 * A `{ code, message }` error body becomes a RoamError with that code; a server that cannot
 * be reached becomes ROAM_NAMES_UNREACHABLE saying which server and what to check.
 */
export class JsonHttp {
  readonly base: URL;
  private readonly agent: HttpAgent;

  constructor(
    server: string,
    private readonly timeoutMs: number,
  ) {
    try {
      this.base = new URL(server);
    } catch {
      throw namesError('ROAM_NAMES_CONFIG', `"${server}" is not a URL; use http://HOST:PORT`);
    }
    if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:')
      throw namesError(
        'ROAM_NAMES_CONFIG',
        `name server URL must be http: or https:, not ${this.base.protocol}`,
      );
    this.agent =
      this.base.protocol === 'https:'
        ? new HttpsAgent({ keepAlive: true })
        : new HttpAgent({ keepAlive: true });
  }

  url(path: string): URL {
    return new URL(path, this.base);
  }

  /** Opens a request without the JSON handling (the watch stream); the caller owns it. */
  open(path: string, headers: Record<string, string>): ReturnType<typeof httpRequest> {
    const send = this.base.protocol === 'https:' ? httpsRequest : httpRequest;
    return send(this.url(path), { method: 'GET', headers, agent: false });
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const send = this.base.protocol === 'https:' ? httpsRequest : httpRequest;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = send(this.url(path), {
        method,
        agent: this.agent,
        headers: {
          accept: 'application/json',
          ...(payload
            ? {
                'content-type': 'application/json',
                'content-length': String(Buffer.byteLength(payload)),
              }
            : {}),
        },
      });
      req.setTimeout(this.timeoutMs, () =>
        req.destroy(this.unreachable(new Error(`no answer in ${this.timeoutMs} ms`))),
      );
      req.on('response', resolve);
      req.on('error', (err) => reject(err instanceof RoamError ? err : this.unreachable(err)));
      req.end(payload);
    });
    const text = await readAll(res, 16 * 1024 * 1024).catch((err: unknown) => {
      throw this.unreachable(err as Error);
    });
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      throw namesError(
        'ROAM_NAMES_UNREACHABLE',
        `${this.base.origin} answered ${res.statusCode} without JSON; is it a roam name server?`,
      );
    }
    if ((res.statusCode ?? 500) >= 400) throw errorFrom(res.statusCode ?? 500, data);
    return data as T;
  }

  close(): void {
    this.agent.destroy();
  }

  /**
   * Closes the idle kept-alive connections. After this host's address changed they are
   * silently dead (bound to the old address): a request on one would wait for its timeout.
   */
  dropIdle(): void {
    for (const sockets of Object.values(this.agent.freeSockets))
      for (const socket of sockets ?? []) socket.destroy();
  }

  private unreachable(err: Error): RoamError {
    return namesError(
      'ROAM_NAMES_UNREACHABLE',
      `cannot reach the name server at ${this.base.origin}: ${err.message}; is \`roam names serve\` running there?`,
      { cause: err },
    );
  }
}

export function errorFrom(status: number, data: unknown): RoamError {
  const { code, message, ...rest } = (data ?? {}) as { code?: unknown; message?: unknown };
  const details: Record<string, number | string> = {};
  for (const [k, v] of Object.entries(rest))
    if (typeof v === 'number' || typeof v === 'string') details[k] = v;
  const text = typeof message === 'string' ? message : `the name server answered ${status}`;
  if (typeof code === 'string' && isNamesCode(code)) return namesError(code, text, { details });
  return namesError('ROAM_NAMES_INTERNAL', `the name server answered ${status}: ${text}`);
}

export async function readAll(res: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      res.destroy();
      throw new Error(`response larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
