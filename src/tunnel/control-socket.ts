import { chmodSync, rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { z } from 'zod';
import { knownCode, RoamError } from '../errors.js';
import { MODES } from './control-message.js';
import { controlSocketPath } from './host-state.js';

/** Requests on a running end's control socket: one JSON line in, one JSON reply out. */
export const requestSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('status') }).strict(),
  z
    .object({
      op: z.literal('mode'),
      mode: z.enum(MODES),
      /** best mode: pin this path (its interface name); null gives the choice back. */
      pin: z.string().max(15).nullable().optional(),
    })
    .strict(),
]);
export type ControlRequest = z.infer<typeof requestSchema>;

export const NOT_RUNNING = 'ROAM_TUNNEL_NOT_RUNNING';

export function listenControl(
  name: string,
  handle: (r: ControlRequest) => unknown,
): Promise<Server> {
  const path = controlSocketPath(name);
  rmSync(path, { force: true });
  const server = createServer((sock) => {
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('error', () => sock.destroy());
    sock.on('data', (d: string) => {
      buf += d;
      if (buf.length > 4096) return sock.destroy();
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      let reply: unknown;
      try {
        const req = requestSchema.parse(JSON.parse(buf.slice(0, nl)));
        reply = { ok: handle(req) };
      } catch (err) {
        reply = {
          error: (err as Error).message,
          code: (err as { code?: string }).code ?? 'ROAM_BAD_INPUT',
        };
      }
      sock.end(`${JSON.stringify(reply)}\n`);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      chmodSync(path, 0o600);
      resolve(server);
    });
  });
}

export function askControl(name: string, req: ControlRequest, timeoutMs = 5000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = connect(controlSocketPath(name));
    let buf = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new RoamError(NOT_RUNNING, `tunnel ${name} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify(req)}\n`));
    socket.on('data', (d: string) => (buf += d));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(new RoamError(NOT_RUNNING, `tunnel ${name} is not running (${err.message})`));
    });
    socket.on('end', () => {
      clearTimeout(timer);
      try {
        const r = JSON.parse(buf) as { ok?: unknown; error?: string; code?: string };
        if (r.error !== undefined)
          reject(new RoamError(knownCode(r.code, 'ROAM_BAD_INPUT'), r.error));
        else resolve(r.ok);
      } catch {
        reject(new RoamError(NOT_RUNNING, `tunnel ${name} gave an unreadable answer`));
      }
    });
  });
}
