// Downloads for the multipath benchmarks, the same program for every contender so they compare
// like with like: plain TCP (`tcp`), Linux MPTCP (`tcp` run under `mptcpize run`, which turns
// the process's TCP sockets into MPTCP sockets), and a roam multipath session (`roam`).
// JSON lines on stdout (t: monotonic ms, shared by every process on the machine).
//
//   serve KIND HOST PORT OPTIONS   answers each request line "SIZE\n" with SIZE bytes of the
//                                  pattern, then ends its side. {"event":"listening"}
//   get KIND HOST PORT OPTIONS     downloads each of OPTIONS.sizes OPTIONS.repeat times, one new
//                                  connection (or session) per download, the request written
//                                  right after connect() as a user writes
//                                  `connect(...).write(req)` (net.Socket holds it until the
//                                  handshake, roam sends it as early data), timed from
//                                  connect() to the last byte at the application:
//                                  {"event":"trial","size","ms","connectMs","ok"} then "done"
//   stream KIND HOST PORT OPTIONS  one download of OPTIONS.size; {"event":"progress","bytes"}
//                                  every OPTIONS.progressMs; every pause between reads longer
//                                  than OPTIONS.gapMs is listed in the final "stream-done".
//                                  Stdin `add ADDR` adds a flowpath from ADDR (roam).
//
// OPTIONS (JSON): localAddress (tcp: bind, i.e. pick the path), localAddresses and
// maxFlowpaths (roam client), warmup (get: untimed downloads of each size before the timed
// ones, so that every contender is measured warm, not while its code is compiled),
// scheduler (roam, both ends: the sender's decides), session (roam session options), sizes,
// repeat, size, progressMs, gapMs; mobility ({mode, intervalMs}: a roam stream client runs
// under a mobility manager with that address watcher, as docs/mobility.md tells users to:
// connect from the default route, the manager opens the other flowpaths).
// A roam stream client and a roam server also report their flowpaths' fate, for timelines:
// {"event":"path-down","pathId","reason"}, "path-suspect", "path-recovered"; under a
// manager also "address-change" ({removed, added} addresses), "path-added", "path-removed".
// Integrity: byte i of every download is i % 251; the client checks the SHA-256 of what it got
// against the pattern's (computed after the clock stopped).
import { createHash } from 'node:crypto';
import { connect as netConnect, createServer as netCreateServer, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import type { Duplex } from 'node:stream';
import {
  createMobilityManager,
  type MobilityManager,
} from '../../src/mobility/mobility-manager.js';
import type { FlowpathInfo } from '../../src/session/flowpath.js';
import {
  type ConnectOptions,
  connect as roamConnect,
  createServer as roamCreateServer,
  type ServerOptions,
} from '../../src/session/index.js';
import { monoMs } from './clock.js';

const say = (event: string, extra: Record<string, unknown> = {}) =>
  process.stdout.write(`${JSON.stringify({ event, t: monoMs(), ...extra })}\n`);

const [mode, kind, host = '', portText = '', optionsText = '{}'] = process.argv.slice(2);
const port = Number(portText);

interface Options {
  localAddress?: string;
  localAddresses?: string[];
  maxFlowpaths?: number;
  scheduler?: string;
  session?: Record<string, unknown>;
  sizes?: number[];
  repeat?: number;
  warmup?: number;
  size?: number;
  progressMs?: number;
  gapMs?: number;
  mobility?: { mode: 'netlink' | 'poll'; intervalMs?: number };
  /** A roam server logs its sessions' path stats every this many ms (diagnosis). */
  traceMs?: number;
}
const options = JSON.parse(optionsText) as Options;

const PERIOD = 251;
const WRITE = 64 * 1024;
const PATTERN = Buffer.alloc(PERIOD * 1024);
for (let i = 0; i < PATTERN.length; i++) PATTERN[i] = i % PERIOD;

const expected = new Map<number, string>();
/** SHA-256 of the first `size` bytes of the pattern. */
function patternSha(size: number): string {
  let sha = expected.get(size);
  if (sha) return sha;
  const hash = createHash('sha256');
  for (let off = 0; off < size; off += WRITE) {
    const at = off % PERIOD;
    hash.update(PATTERN.subarray(at, at + Math.min(WRITE, size - off)));
  }
  sha = hash.digest('hex');
  expected.set(size, sha);
  return sha;
}

/** Sends `size` bytes of the pattern with backpressure, then ends. */
function sendPattern(stream: Duplex, size: number): void {
  let off = 0;
  const pump = () => {
    while (off < size) {
      const at = off % PERIOD;
      const n = Math.min(WRITE, size - off);
      off += n;
      if (!stream.write(PATTERN.subarray(at, at + n))) {
        stream.once('drain', pump);
        return;
      }
    }
    stream.end();
  };
  pump();
}

/** Reads the request line, answers it. */
function answer(stream: Duplex): void {
  let line = '';
  stream.on('error', () => undefined);
  const onData = (chunk: Buffer) => {
    line += chunk.toString('latin1');
    const nl = line.indexOf('\n');
    if (nl < 0) {
      if (line.length > 64) stream.destroy();
      return;
    }
    stream.off('data', onData);
    stream.resume(); // whatever else comes is discarded
    const size = Number(line.slice(0, nl));
    if (!Number.isSafeInteger(size) || size < 0) stream.destroy();
    else sendPattern(stream, size);
  };
  stream.on('data', onData);
}

function serve(): void {
  if (kind === 'tcp') {
    const server = netCreateServer((socket) => answer(socket));
    server.listen(port, host, () => say('listening'));
  } else {
    // The sender's scheduler decides how a download is spread: the server's.
    const multipath = options.traceMs ? { statsIntervalMs: options.traceMs } : undefined;
    const server = roamCreateServer(
      { ...options.session, scheduler: options.scheduler, multipath } as unknown as ServerOptions,
      (session) => {
        reportPaths(session);
        answer(session);
      },
    );
    void server.listen({ host, port }).then(() => say('listening'));
  }
  process.stdin.resume();
  process.stdin.once('end', () => process.exit(0));
}

/** The flowpath events of a roam session as lines (when the server closed or suspected a path). */
function reportPaths(session: Duplex): void {
  const pathOf = (info: { pathId: number; localAddress?: string }) => ({
    pathId: info.pathId,
    localAddress: info.localAddress,
  });
  session.on('path-down', (info: { pathId: number }, reason: string) =>
    say('path-down', { ...pathOf(info), reason }),
  );
  session.on('path-suspect', (info: { pathId: number }) => say('path-suspect', pathOf(info)));
  session.on('path-recovered', (info: { pathId: number }) => say('path-recovered', pathOf(info)));
  if (options.traceMs)
    session.on('path-stats', (paths: FlowpathInfo[]) =>
      say(
        'path-stats',
        Object.fromEntries(
          paths.map((p) => [
            `${p.pathId}:${p.remoteAddress ?? ''}`,
            [
              p.inflightBytes,
              p.deliveredBytes,
              p.capBytes,
              p.queuedBytes,
              p.suspect ? 1 : 0,
              p.minRttMs,
              p.rateBytesPerSec,
            ],
          ]),
        ),
      ),
    );
}

/** The stream client's mobility manager, when OPTIONS.mobility asks for one. */
let manager: MobilityManager | undefined;

interface Download {
  stream: Duplex;
  /** Resolves when the transport is up. */
  connected: Promise<void>;
}

function open(): Download {
  if (kind === 'tcp') {
    const socket: Socket = netConnect({ host, port, localAddress: options.localAddress });
    socket.setNoDelay(true);
    return {
      stream: socket,
      connected: new Promise((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      }),
    };
  }
  // Under a manager: no localAddresses (the default route); the manager opens the others.
  const session = roamConnect({
    host,
    port,
    ...options.session,
    localAddresses: manager ? undefined : options.localAddresses,
    maxFlowpaths: options.maxFlowpaths ?? options.localAddresses?.length,
    scheduler: options.scheduler,
  } as unknown as ConnectOptions);
  reportPaths(session);
  manager?.manage(session);
  return {
    stream: session,
    connected: new Promise((resolve, reject) => {
      session.once('connect', resolve);
      session.once('error', reject);
    }),
  };
}

interface Received {
  ms: number;
  connectMs: number;
  bytes: number;
  ok: boolean;
  /** Pauses between successive reads longer than gapMs: [start, end] in monotonic ms. */
  gaps: [number, number][];
  firstByteT: number;
  lastByteT: number;
}

/** One download of `size` bytes, timed from connect() to its last byte. */
async function download(size: number, onOpen?: (d: Download) => void): Promise<Received> {
  const gapMs = options.gapMs ?? 50;
  const t0 = monoMs();
  const d = open();
  onOpen?.(d);
  let connectT = 0;
  d.connected.then(
    () => (connectT = monoMs()),
    () => undefined,
  );
  const hash = createHash('sha256');
  let bytes = 0;
  let last = 0;
  let first = 0;
  const gaps: [number, number][] = [];
  await new Promise<void>((resolve, reject) => {
    d.stream.once('error', reject);
    d.stream.once('end', () =>
      bytes < size ? reject(new Error(`ended after ${bytes} of ${size} bytes`)) : resolve(),
    );
    d.connected.catch(reject);
    d.stream.write(`${size}\n`);
    d.stream.on('data', (chunk: Buffer) => {
      const now = monoMs();
      if (last && now - last > gapMs) gaps.push([last, now]);
      if (!first) first = now;
      last = now;
      hash.update(chunk);
      bytes += chunk.length;
      if (bytes >= size) resolve();
    });
  });
  const ms = last - t0;
  d.stream.destroy();
  return {
    ms,
    connectMs: connectT ? connectT - t0 : Number.NaN,
    bytes,
    ok: bytes === size && hash.digest('hex') === patternSha(size),
    gaps,
    firstByteT: first,
    lastByteT: last,
  };
}

async function get(): Promise<void> {
  const sizes = options.sizes ?? [];
  const repeat = options.repeat ?? 1;
  for (const size of sizes) {
    for (let i = 0; i < (options.warmup ?? 0); i++) {
      const r = await download(size);
      if (!r.ok) throw new Error(`warm-up download of ${size} bytes was corrupt`);
    }
    for (let i = 0; i < repeat; i++) {
      const r = await download(size);
      say('trial', { size, i, ms: r.ms, connectMs: r.connectMs, bytes: r.bytes, ok: r.ok });
    }
  }
  say('done');
}

async function stream(): Promise<void> {
  const size = options.size ?? 0;
  if (options.mobility && kind === 'roam') {
    manager = await createMobilityManager({ watch: options.mobility });
    manager.on('change', ({ added, removed }) =>
      say('address-change', {
        added: added.map((a) => a.address),
        removed: removed.map((a) => a.address),
      }),
    );
    manager.on('path-added', (e) => say('path-added', { ...e }));
    manager.on('path-removed', (e) => say('path-removed', { ...e }));
    manager.on('path-failed', (e) => say('path-failed', { ...e }));
  }
  let bytes = 0;
  let current: Download | undefined;
  const progress = setInterval(() => say('progress', { bytes }), options.progressMs ?? 250);
  createInterface({ input: process.stdin }).on('line', (line) => {
    const [cmd, arg] = line.trim().split(/\s+/);
    if (cmd !== 'add' || !arg || !current) return;
    const session = current.stream as unknown as {
      addPath?: (p: { localAddress: string }) => unknown;
    };
    if (typeof session.addPath !== 'function') {
      say('add-unsupported', { localAddress: arg });
      return;
    }
    Promise.resolve(session.addPath({ localAddress: arg })).then(
      () => say('added', { localAddress: arg }),
      (err: Error & { code?: string }) =>
        say('add-failed', { localAddress: arg, code: err.code, message: err.message }),
    );
  });
  try {
    const r = await download(size, (d) => {
      current = d;
      d.stream.on('data', (chunk: Buffer) => (bytes += chunk.length));
      void d.connected.then(() => say('connected'));
    });
    say('stream-done', { ...r });
  } finally {
    clearInterval(progress);
    manager?.close();
  }
}

try {
  if (mode === 'serve') serve();
  else if (mode === 'get') await get();
  else if (mode === 'stream') await stream();
  else {
    process.stderr.write('usage: multipath-peer serve|get|stream tcp|roam HOST PORT OPTIONS\n');
    process.exit(2);
  }
  if (mode !== 'serve') process.exit(0);
} catch (err) {
  const e = err as Error & { code?: string };
  say('error', { code: e.code, message: e.message });
  process.exit(1);
}
