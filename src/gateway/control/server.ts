import { chmodSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { once } from 'node:events';

const MAX_REQUEST = 4096;

/**
 * The gateway's control socket: a unix socket in the gateway's root-only state folder (0600),
 * so `roam gateway status` reaches it from any network namespace. One JSON line in
 * (`{"op":"status"}`), one JSON line out, then close.
 */
export async function startControlServer(
  path: string,
  status: () => Promise<unknown>,
): Promise<Server> {
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
      const line = buf.slice(0, nl);
      buf = '';
      socket.pause();
      void answer(line, status).then((reply) => socket.end(`${JSON.stringify(reply)}\n`));
    });
  });
  server.listen(path);
  await once(server, 'listening');
  chmodSync(path, 0o600);
  return server;
}

async function answer(line: string, status: () => Promise<unknown>): Promise<unknown> {
  try {
    const req = JSON.parse(line) as { op?: unknown };
    if (req.op !== 'status') return { error: `unknown op ${String(req.op)}` };
    return { ok: await status() };
  } catch (err) {
    return { error: `bad request: ${(err as Error).message}` };
  }
}
