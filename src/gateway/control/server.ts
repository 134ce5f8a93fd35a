import { chmodSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { once } from 'node:events';

const MAX_REQUEST = 4096;

/**
 * The gateway's control socket: a unix socket in the gateway's root-only state folder (0600),
 * so `roam gateway status` reaches it from any network namespace. One JSON line in
 * (`{"op":"status"}`), one JSON line out, then close.
 */
export async function startControlServer(path: string, status: () => unknown): Promise<Server> {
  rmSync(path, { force: true });
  const server = createServer((socket) => {
    let buf = '';
    socket.setEncoding('utf8');
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_REQUEST) {
        socket.end(`${JSON.stringify({ error: 'request too long' })}\n`);
        return;
      }
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      let reply: unknown;
      try {
        const req = JSON.parse(buf.slice(0, nl)) as { op?: unknown };
        reply = req.op === 'status' ? { ok: status() } : { error: `unknown op ${String(req.op)}` };
      } catch (err) {
        reply = { error: `bad request: ${(err as Error).message}` };
      }
      socket.end(`${JSON.stringify(reply)}\n`);
    });
  });
  server.listen(path);
  await once(server, 'listening');
  chmodSync(path, 0o600);
  return server;
}
