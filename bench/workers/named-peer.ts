#!/usr/bin/env node
// One end of a roam session found through the name service, inside a lab namespace, for
// bench/names-mobility. JSON lines on stdout, each with `t` (./clock.ts, shared by processes).
//
//   names HOST PORT                         a name server (memory store)
//   serve URL NAME HOST PORT OPTIONS        a roam server publishing NAME (a fresh key) at
//                                           HOST:PORT and streaming a paced byte pattern to each
//                                           session. Stdin `move IP`: server.move (republishes).
//   fetch URL NAME OPTIONS                  a client connecting to NAME (control socket off:
//                                           only the name service can say where the server went),
//                                           checking the pattern; reports the lookup time q,
//                                           'migrating', 'reconnecting', 'migrated', the first
//                                           byte after each migration, and the path's SRTT.
// OPTIONS: JSON session options, plus `paceMs`, `chunkBytes` (serve) and `watchName` (fetch).
import { createInterface } from 'node:readline';
import { NamesClient } from '../../src/names/client/client.js';
import { startNamesServer } from '../../src/names/http/server.js';
import { generateKeyPair } from '../../src/names/keys.js';
import { NameService } from '../../src/names/service.js';
import { MemoryStore } from '../../src/names/store/memory-store.js';
import { connect, createServer, publishServerName, type Session } from '../../src/session/index.js';
import { median } from '../lib/stats.js';
import { monoMs } from './clock.js';

const say = (event: string, extra: Record<string, unknown> = {}) =>
  process.stdout.write(`${JSON.stringify({ event, t: monoMs(), ...extra })}\n`);

/** Byte at stream offset i is i % 251: a gap or a repeat shows at once. */
const PERIOD = 251;
const PATTERN = Buffer.alloc(PERIOD * 1024);
for (let i = 0; i < PATTERN.length; i++) PATTERN[i] = i % PERIOD;

const [mode = '', ...args] = process.argv.slice(2);

if (mode === 'names') {
  const [host = '0.0.0.0', port = '7447'] = args;
  const server = await startNamesServer(new NameService(new MemoryStore()), {
    host,
    port: Number(port),
  });
  say('listening', { url: server.url });
} else if (mode === 'serve') {
  const [url = '', name = '', host = '', port = '', json = '{}'] = args;
  const options = JSON.parse(json) as Record<string, unknown>;
  const paceMs = Number(options.paceMs ?? 5);
  const chunkBytes = Number(options.chunkBytes ?? 4096);
  const server = createServer(options, (session: Session) => {
    let offset = 0;
    const timer = setInterval(() => {
      if (session.writableNeedDrain || session.destroyed) return;
      const at = offset % PERIOD;
      session.write(PATTERN.subarray(at, at + chunkBytes));
      offset += chunkBytes;
    }, paceMs);
    session.on('close', () => clearInterval(timer));
    session.on('error', (err: Error & { code?: string }) =>
      say('error', { side: 'server', code: err.code, message: err.message }),
    );
    session.resume();
  });
  const publisher = publishServerName(server, {
    name,
    names: { server: url, key: generateKeyPair() },
  });
  publisher.on('published', (p) => say('published', { ms: p.ms, ip: p.record.addresses[0]?.ip }));
  publisher.on('error', (err) => say('error', { side: 'publisher', message: err.message }));
  await server.listen({ host, port: Number(port) });
  say('listening');
  createInterface({ input: process.stdin }).on('line', (line) => {
    const [cmd, arg] = line.trim().split(/\s+/);
    if (cmd === 'move' && arg) {
      say('moving', { to: arg });
      server
        .move({ host: arg, port: Number(port) })
        .catch((err: Error) => say('error', { side: 'server', message: err.message }));
    }
  });
  process.stdin.once('end', () => process.exit(0));
} else if (mode === 'fetch') {
  const [url = '', name = '', json = '{}'] = args;
  const options = JSON.parse(json) as Record<string, unknown>;
  const probe = new NamesClient({ server: url });
  const timed = async () => {
    const t0 = monoMs();
    await probe.resolve(name);
    return monoMs() - t0;
  };
  const cold = await timed();
  const warm = median([await timed(), await timed(), await timed()]);
  probe.close();
  say('lookup', { coldMs: cold, ms: warm });
  const session = connect({ ...options, name, names: url, control: false });
  let received = 0;
  let corrupt = 0;
  let waitingFirst = false;
  session.once('connect', () => say('connected', { remote: session.remoteAddress }));
  session.on('migrating', (i: { reason: string }) => {
    waitingFirst = true;
    say('migrating', i);
  });
  session.on('reconnecting', (i: { attempt: number; host: string }) => say('reconnecting', i));
  session.on('migrated', (i: { ms: number }) =>
    say('migrated', { ms: i.ms, remote: session.remoteAddress }),
  );
  session.on('data', (chunk: Buffer) => {
    if (
      chunk[0] !== received % PERIOD ||
      chunk[chunk.length - 1] !== (received + chunk.length - 1) % PERIOD
    )
      corrupt++;
    if (waitingFirst) {
      waitingFirst = false;
      say('first-byte', { at: received, corrupt });
    }
    received += chunk.length;
  });
  session.on('error', (err: Error & { code?: string }) =>
    say('error', { side: 'client', code: err.code, message: err.message }),
  );
  setInterval(
    () => say('progress', { bytes: received, corrupt, srttMs: session.paths[0]?.rttMs }),
    250,
  ).unref();
  process.stdin.once('end', () => process.exit(0));
  process.stdin.resume();
} else {
  process.stderr.write('usage: named-peer names|serve|fetch …\n');
  process.exit(2);
}
