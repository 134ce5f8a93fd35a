// The multipath-interfaces benchmark's processes inside lab hosts; JSON lines, times on the
// shared monotonic clock (./clock.ts):
//   serve roam|tcp PORT                     streams random bytes to each connection until it closes
//   fetch roam|tcp HOST PORT [netlink|poll] reads; every pause > 20 ms between reads is a 'gap'
//                                           event; roam runs under a mobility manager (watcher mode)
// For Linux MPTCP the benchmark runs the tcp kind under `mptcpize run`.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect as tcpConnect, createServer as tcpServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createMobilityManager } from '../../src/mobility/mobility-manager.js';
import { connect, createServer } from '../../src/session/index.js';
import { monoMs } from './clock.js';

const [mode, kind, ...args] = process.argv.slice(2);
const say = (event: string, extra: Record<string, unknown> = {}) =>
  process.stdout.write(`${JSON.stringify({ event, t: monoMs(), ...extra })}\n`);
const timing = { keepaliveIntervalMs: 100, deadAfterMs: 1500, retryIntervalMs: 200 };
const BLOCK = randomBytes(64 * 1024);

async function pour(stream: Duplex): Promise<void> {
  stream.on('error', () => undefined);
  while (!stream.destroyed && stream.writable) {
    if (!stream.write(BLOCK))
      await new Promise<void>((resolve) => {
        const done = () => {
          stream.off('drain', done);
          stream.off('close', done);
          resolve();
        };
        stream.on('drain', done);
        stream.on('close', done);
      });
  }
}

function drink(stream: Duplex): void {
  let bytes = 0;
  let last: number | undefined;
  stream.on('data', (d: Buffer) => {
    const now = monoMs();
    if (last !== undefined && now - last > 20) say('gap', { from: last, to: now });
    last = now;
    bytes += d.length;
  });
  const tick = setInterval(() => say('progress', { bytes }), 100);
  stream.once('close', () => clearInterval(tick));
}

if (mode === 'serve') {
  const port = Number(args[0]);
  if (kind === 'roam') {
    const server = createServer(timing, (s) => {
      s.on('error', () => undefined);
      s.resume();
      void pour(s);
    });
    await server.listen({ host: '0.0.0.0', port });
  } else {
    const server = tcpServer((s: Socket) => {
      s.resume();
      void pour(s);
    });
    server.listen(port, '0.0.0.0');
    await once(server, 'listening');
  }
  say('listening');
} else if (mode === 'fetch') {
  const [host, portText, watch] = args;
  const port = Number(portText);
  if (kind === 'roam') {
    const manager = await createMobilityManager({
      watch: { mode: watch === 'poll' ? 'poll' : 'netlink', intervalMs: 100 },
    });
    manager.on('path-added', (e) => say('path-added', { ...e }));
    manager.on('path-removed', (e) => say('path-removed', { ...e }));
    const session = connect({ host: host as string, port, ...timing });
    session.on('error', (err: Error & { code?: string }) => say('error', { code: err.code }));
    await once(session, 'connect');
    manager.manage(session);
    drink(session);
  } else {
    const socket = tcpConnect({ host: host as string, port });
    socket.on('error', (err: Error & { code?: string }) => say('error', { code: err.code }));
    await once(socket, 'connect');
    drink(socket);
  }
  say('connected');
} else {
  process.stderr.write(
    'usage: interfaces-peer serve roam|tcp PORT | fetch roam|tcp HOST PORT [MODE]\n',
  );
  process.exit(2);
}
