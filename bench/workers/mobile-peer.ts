#!/usr/bin/env node
// One end of a roam session inside a lab namespace, for bench/migration-time. Prints JSON
// lines on stdout, each with `t`: monotonic ms shared by every process (./clock.ts).
//
//   serve HOST PORT OPTIONS   a roam server on HOST:PORT streaming a steady paced byte pattern
//                             to each session, and a plain TCP listener on PORT+1 (the anchor
//                             connects there). Stdin: `move IP` calls server.move({ host: IP }).
//   fetch HOST PORT OPTIONS   a roam client reading the stream and checking the pattern. It
//                             reports each reconnect attempt (its socket factory is called:
//                             the attempt starts), 'migrating', 'migrated' (with the winning
//                             attempt) and the first byte delivered after each migration.
//                             Stdin: `server IP` points its resolve() hook at IP (a stand-in
//                             for the name service: a third party that knows where the server is).
//   tcping HOST PORT COUNT    COUNT plain TCP connects one after the other: the handshake times.
//
// OPTIONS is a JSON object: session options, plus `paceMs` and `chunkBytes` for the server.
import { connect as netConnect, createServer as netCreateServer, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { connect, createServer, type Session } from '../../src/session/index.js';
import { monoMs } from './clock.js';

const say = (event: string, extra: Record<string, unknown> = {}) =>
  process.stdout.write(`${JSON.stringify({ event, t: monoMs(), ...extra })}\n`);

const [mode, host = '', portText = '', third = '{}'] = process.argv.slice(2);
const port = Number(portText);

/** Stream content: byte at stream offset i is i % 251, so a gap or a repeat shows at once. */
const PERIOD = 251;
const PATTERN = Buffer.alloc(PERIOD * 1024, 0);
for (let i = 0; i < PATTERN.length; i++) PATTERN[i] = i % PERIOD;

function serve(options: Record<string, unknown>): void {
  const paceMs = Number(options.paceMs ?? 5);
  const chunkBytes = Number(options.chunkBytes ?? 20 * 1024);
  if (chunkBytes + PERIOD > PATTERN.length) throw new Error('chunkBytes too large');
  const server = createServer(options, (session: Session) => {
    say('session', { id: session.id });
    let offset = 0;
    const timer = setInterval(() => {
      if (session.writableNeedDrain || session.destroyed) return;
      const at = offset % PERIOD;
      session.write(PATTERN.subarray(at, at + chunkBytes));
      offset += chunkBytes;
    }, paceMs);
    session.on('migrating', (i: { reason: string }) => say('server-migrating', i));
    session.on('migrated', (i: { ms: number }) => say('server-migrated', i));
    session.on('error', (err: Error & { code?: string }) =>
      say('error', { side: 'server', code: err.code, message: err.message }),
    );
    session.on('close', () => clearInterval(timer));
    session.resume();
  });
  server.on('listening', () => say('listening', { address: server.address() }));
  void server.listen({ host, port });
  // The anchor's target: a plain TCP listener that accepts and closes.
  const plain = netCreateServer((s) => s.destroy());
  plain.listen(port + 1, host);
  createInterface({ input: process.stdin }).on('line', (line) => {
    const [cmd, arg] = line.trim().split(/\s+/);
    if (cmd === 'move' && arg) {
      say('moving', { to: arg });
      plain.close();
      netCreateServer((s) => s.destroy()).listen(port + 1, arg);
      server.move({ host: arg, port }).then(
        (results) =>
          say('moved', {
            to: arg,
            acked: results.filter((r) => r.acked).length,
            tries: results.map((r) => r.tries),
          }),
        (err: Error) => say('error', { side: 'server', message: err.message }),
      );
    }
  });
  process.stdin.once('end', () => process.exit(0));
}

function fetch(options: Record<string, unknown>): void {
  let target = { host, port };
  let attemptId = 0;
  const attempts: { id: number; t: number; host: string; socket: Socket }[] = [];
  const session = connect({
    ...options,
    host,
    port,
    resolve: () => target,
    socketFactory: (to) => {
      const id = ++attemptId;
      const t = monoMs();
      const socket = netConnect({ host: to.host, port: to.port, localAddress: to.localAddress });
      attempts.push({ id, t, host: to.host, socket });
      if (attempts.length > 64) attempts.shift();
      say('attempt', { id, host: to.host });
      socket.once('connect', () => say('tcp-connected', { id, local: socket.localAddress }));
      socket.once('error', (err: NodeJS.ErrnoException) =>
        say('attempt-error', { id, code: err.code }),
      );
      return socket;
    },
  });
  let received = 0;
  let waitingFirst = false;
  let migratingAt = 0;
  let corrupt = 0;
  session.once('connect', () => say('connected', { id: session.id }));
  session.on('migrating', (i: { reason: string }) => {
    migratingAt = monoMs();
    waitingFirst = true;
    say('migrating', { ...i, received });
  });
  session.on('migrated', (i: { ms: number }) => {
    // The winning attempt: the one whose socket the session now uses.
    const won = attempts.find(
      (a) => a.socket.localPort === session.localPort && a.socket.remotePort === session.remotePort,
    );
    say('migrated', {
      ms: i.ms,
      attempt: won?.id,
      attemptT: won?.t,
      local: session.localAddress,
      remote: session.remoteAddress,
    });
  });
  session.on('data', (chunk: Buffer) => {
    if (
      chunk[0] !== received % PERIOD ||
      chunk[chunk.length - 1] !== (received + chunk.length - 1) % PERIOD
    )
      corrupt++;
    if (waitingFirst) {
      waitingFirst = false;
      say('first-byte', { at: received, sinceMigrating: monoMs() - migratingAt, corrupt });
    }
    received += chunk.length;
  });
  session.on('error', (err: Error & { code?: string }) =>
    say('error', { side: 'client', code: err.code, message: err.message }),
  );
  const progress = setInterval(() => say('progress', { bytes: received, corrupt }), 250);
  progress.unref();
  createInterface({ input: process.stdin }).on('line', (line) => {
    const [cmd, arg] = line.trim().split(/\s+/);
    if (cmd === 'server' && arg) {
      target = { host: arg, port };
      say('resolve', { to: arg });
    }
  });
  process.stdin.once('end', () => process.exit(0));
}

async function tcping(count: number): Promise<void> {
  const ms: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = monoMs();
    await new Promise<void>((resolve, reject) => {
      const s = netConnect({ host, port }, () => {
        ms.push(monoMs() - t0);
        s.destroy();
        resolve();
      });
      s.once('error', reject);
    });
  }
  say('tcping', { ms });
}

if (mode === 'serve') serve(JSON.parse(third) as Record<string, unknown>);
else if (mode === 'fetch') fetch(JSON.parse(third) as Record<string, unknown>);
else if (mode === 'tcping') await tcping(Number(third));
else {
  process.stderr.write('usage: mobile-peer serve|fetch HOST PORT OPTIONS | tcping HOST PORT N\n');
  process.exit(2);
}
