#!/usr/bin/env node
// The parties of the admission lab test and bench/admission, one process each inside a lab
// namespace, reporting JSON lines on stdout (`t`: monotonic ms, ./clock.ts):
//
//   serve HOST PORT OPTIONS        a roam server echoing each session's stream; stdin `stats`
//                                  reports RSS and the admission counters
//   honest HOST PORT N SIZE        N roam clients at once, each sending SIZE random bytes and
//                                  checking the echo (length, SHA-256); client 0 taps what it
//                                  writes (its HELLO flight, and the attach after a forced
//                                  migration) and reports it as 'captured'
//   abandon HOST PORT K CONFIRM A  K connections at a time, as fast as they go: HELLO new
//                                  (echoing a COOKIE if asked), WELCOME, an ACK if CONFIRM is 1,
//                                  then a reset, as a killed process leaves them. A: local
//                                  addresses to take in turn (comma list, or - for the default)
//   idle HOST PORT N A             N TCP connections that never send a byte, held open
//   dribble HOST PORT N            N connections each sending a HELLO one byte per 200 ms
//   replay HOST PORT HEX HEX       the captured HELLO flight, then the captured attach, each on
//                                  a connection of its own: what the server answered
import { randomBytes } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { connect, createServer, type Session } from '../../src/session/index.js';
import { newKeyShare } from '../../src/session/secret.js';
import { encodeFrame, type Frame, FrameDecoder, type HelloFrame } from '../../src/wire/index.js';
import { receiveHashed, sendRandom } from '../../test/session/fixtures/stream-ends.js';
import { monoMs } from './clock.js';

const say = (event: string, extra: Record<string, unknown> = {}) =>
  process.stdout.write(`${JSON.stringify({ event, t: monoMs(), ...extra })}\n`);

const [mode = '', host = '', portText = '', ...rest] = process.argv.slice(2);
const port = Number(portText);
const bytes = (f: Frame) => Buffer.concat(encodeFrame(f));
const addrs = (list: string | undefined) =>
  list && list !== '-' ? list.split(',') : [undefined as string | undefined];

// ---- the server ------------------------------------------------------------------------------

async function serve(options: Record<string, unknown>): Promise<void> {
  const server = createServer(options, (s: Session) => {
    s.on('error', () => undefined);
    s.pipe(s);
  });
  server.on('admission', (r) => {
    if (r.kind === 'pressure') say('pressure', r);
  });
  await server.listen({ host, port });
  say('listening');
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line.trim() !== 'stats') return;
    say('stats', {
      rss: process.memoryUsage.rss(),
      sessions: server.sessionCount,
      counters: server.admissionCounters,
    });
  });
}

// ---- honest clients ----------------------------------------------------------------------

/** A socket factory that keeps the first bytes written on each socket: the wiretap. */
function tapping(flights: Buffer[][]) {
  return (to: { host: string; port: number; localAddress?: string }): Socket => {
    const socket = netConnect({ host: to.host, port: to.port, localAddress: to.localAddress });
    const flight: Buffer[] = [];
    flights.push(flight);
    let kept = 0;
    const write = socket.write.bind(socket) as (...a: unknown[]) => boolean;
    socket.write = ((chunk: unknown, ...more: unknown[]) => {
      if (Buffer.isBuffer(chunk) && kept < 4096) {
        flight.push(Buffer.from(chunk.subarray(0, 4096 - kept)));
        kept += chunk.length;
      }
      return write(chunk, ...more);
    }) as Socket['write'];
    return socket;
  };
}

async function honestOne(i: number, size: number, flights: Buffer[][] | undefined) {
  const started = monoMs();
  const session = connect({
    host,
    port,
    connectTimeoutMs: 15_000,
    ...(flights ? { socketFactory: tapping(flights) } : {}),
  });
  const failed = new Promise<never>((_, reject) => session.once('error', reject));
  failed.catch(() => undefined);
  try {
    await Promise.race([new Promise((r) => session.once('connect', r)), failed]);
    const connectMs = monoMs() - started;
    if (flights) setTimeout(() => session.migrate(), 50); // an attach for the wiretap
    const [sent, received] = await Promise.race([
      Promise.all([sendRandom(session, size), receiveHashed(session, () => undefined)]),
      failed,
    ]);
    const ok = received.length === size && received.sha256 === sent;
    say('client', { i, ok, connectMs, length: received.length, sent, received: received.sha256 });
    return { ok, connectMs };
  } catch (err) {
    say('client', { i, ok: false, error: (err as { code?: string }).code ?? String(err) });
    return { ok: false, connectMs: NaN };
  } finally {
    session.destroy();
  }
}

async function honest(n: number, size: number): Promise<void> {
  const flights: Buffer[][] = [];
  const results = await Promise.all(
    Array.from({ length: n }, (_, i) => honestOne(i, size, i === 0 ? flights : undefined)),
  );
  say('captured', { flights: flights.map((f) => Buffer.concat(f).toString('hex')) });
  say('done', {
    ok: results.filter((r) => r.ok).length,
    connectMs: results.map((r) => r.connectMs),
  });
}

// ---- attackers ---------------------------------------------------------------------------

const SHARE = newKeyShare().publicKey; // one key share for every HELLO: the attacker's CPU is cheap

function hello(): HelloFrame {
  return {
    type: 'hello',
    mode: 'new',
    pathId: 0,
    connId: Buffer.concat([randomBytes(8), Buffer.alloc(8)]),
    nonce: randomBytes(16),
    keyShare: SHARE,
    counter: 0,
    received: 0,
    recvWindow: 65536,
    controlAddr: null,
    proof: Buffer.alloc(32),
  };
}

/** One abandoned session: resolves with what happened. */
function abandonOne(local: string | undefined, confirm: boolean): Promise<string> {
  return new Promise((resolve) => {
    const socket = netConnect({ host, port, localAddress: local });
    const h = bytes(hello());
    const decoder = new FrameDecoder();
    let outcome = 'closed';
    const timer = setTimeout(() => socket.destroy(), 3000);
    socket.on('error', () => undefined);
    socket.on('connect', () => socket.write(h));
    socket.on('data', (chunk: Buffer) => {
      try {
        decoder.decode(chunk, (f) => {
          if (f.type === 'cookie') {
            outcome = 'cookie';
            socket.write(Buffer.concat([bytes(f), h]));
          } else if (f.type === 'welcome') {
            outcome = 'opened';
            if (confirm) socket.write(bytes({ type: 'ack', ack: 0, window: 65536 }));
            // Abandoned: a reset, no ERROR, no FIN, as when the process is killed.
            setImmediate(() => socket.resetAndDestroy());
          } else if (f.type === 'error') {
            outcome = `refused ${f.code}`;
            socket.destroy();
          }
          return true;
        });
      } catch {
        socket.destroy();
      }
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(outcome);
    });
  });
}

async function abandon(k: number, confirm: boolean, locals: (string | undefined)[]) {
  const counts: Record<string, number> = {};
  let n = 0;
  const worker = async () => {
    for (;;) {
      const outcome = await abandonOne(locals[n++ % locals.length], confirm);
      counts[outcome] = (counts[outcome] ?? 0) + 1;
    }
  };
  setInterval(() => say('progress', { counts }), 1000);
  await Promise.all(Array.from({ length: k }, worker));
}

async function idle(n: number, locals: (string | undefined)[]): Promise<void> {
  let open = 0;
  let closed = 0;
  const sockets: Socket[] = [];
  for (let i = 0; i < n; i += 250) {
    await Promise.all(
      Array.from({ length: Math.min(250, n - i) }, (_, j) => {
        const socket = netConnect({ host, port, localAddress: locals[(i + j) % locals.length] });
        sockets.push(socket);
        socket.on('error', () => undefined);
        socket.once('close', () => (open--, closed++));
        return new Promise<void>((resolve) => {
          socket.once('connect', () => (open++, resolve()));
          socket.once('close', () => resolve());
        });
      }),
    );
  }
  say('idle', { opened: n, open, closed });
  setInterval(() => say('idle', { opened: n, open, closed }), 1000);
}

function dribble(n: number): void {
  let closed = 0;
  const h = bytes(hello());
  for (let i = 0; i < n; i++) {
    const socket = netConnect({ host, port });
    socket.on('error', () => undefined);
    let at = 0;
    const timer = setInterval(() => {
      if (at < h.length) socket.write(h.subarray(at, ++at));
    }, 200);
    socket.once('close', () => (clearInterval(timer), closed++));
  }
  setInterval(() => say('dribble', { n, closed }), 1000);
}

/** Writes `data` on a fresh connection and reports the frames that come back. */
function replayOne(data: Buffer): Promise<{ frames: string[] }> {
  return new Promise((resolve) => {
    const socket = netConnect({ host, port });
    const frames: string[] = [];
    const decoder = new FrameDecoder();
    const timer = setTimeout(() => socket.destroy(), 5000);
    socket.on('error', () => undefined);
    socket.on('connect', () => socket.write(data));
    socket.on('data', (chunk: Buffer) => {
      try {
        decoder.decode(chunk, (f) => {
          frames.push(f.type === 'error' ? `error ${f.code}` : f.type);
          return true;
        });
      } catch {
        socket.destroy();
      }
    });
    socket.on('close', () => (clearTimeout(timer), resolve({ frames })));
  });
}

/** The captured bytes up to the end of their last HELLO (what follows it is not replayed). */
function throughLastHello(flight: Buffer): Buffer {
  let end = 0;
  let at = 0;
  try {
    new FrameDecoder().decode(flight, (f) => {
      at += Buffer.concat(encodeFrame(f)).length;
      if (f.type === 'hello') end = at;
      return true;
    });
  } catch {
    // a flight cut mid-frame: what came before is enough
  }
  return flight.subarray(0, end);
}

async function replay(flights: string[]): Promise<void> {
  const answers = [];
  for (const hex of flights)
    answers.push((await replayOne(throughLastHello(Buffer.from(hex, 'hex')))).frames);
  say('replayed', { answers });
}

switch (mode) {
  case 'serve':
    await serve(JSON.parse(rest[0] ?? '{}') as Record<string, unknown>);
    break;
  case 'honest':
    await honest(Number(rest[0]), Number(rest[1]));
    process.exit(0);
    break;
  case 'abandon':
    await abandon(Number(rest[0]), rest[1] === '1', addrs(rest[2]));
    break;
  case 'idle':
    await idle(Number(rest[0]), addrs(rest[1]));
    break;
  case 'dribble':
    dribble(Number(rest[0]));
    break;
  case 'replay':
    await replay(rest);
    process.exit(0);
    break;
  default:
    throw new Error(`unknown mode ${mode}`);
}
