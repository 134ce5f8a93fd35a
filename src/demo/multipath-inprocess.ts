import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { EmulatedLink } from '../lab/emulated-link/index.js';
import { connect, createServer } from '../session/index.js';
import { contentChunks } from './content.js';
import {
  MP_DEMO_SIZE,
  MP_SCHEDULE,
  type MpStep,
  type MultipathDemoNetwork,
} from './multipath-network.js';
import { DEMO_PATHS, DEMO_SEED, DEMO_SESSION_TIMING } from './scenario.js';

/**
 * The multipath demo without root: the server on loopback behind one emulated link per demo
 * path; paths come and go by addPath/removePath on the schedule (what the mobility manager
 * does on interface events; the lab version runs the manager itself).
 */
export async function multipathInProcess(): Promise<MultipathDemoNetwork> {
  const events: MultipathDemoNetwork['events'] = new EventEmitter();
  const server = createServer(DEMO_SESSION_TIMING, (session) => {
    session.on('error', () => session.destroy());
    session.resume();
    const chunks = contentChunks(DEMO_SEED, MP_DEMO_SIZE);
    const pump = () => {
      for (let next = chunks.next(); !next.done; next = chunks.next())
        if (!session.write(next.value)) return void session.once('drain', pump);
      session.end();
    };
    pump();
  });
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  const links = new Map<string, EmulatedLink>();
  for (const p of DEMO_PATHS)
    links.set(
      p.name,
      await EmulatedLink.start({
        name: p.name,
        delayMs: p.rttMs / 2,
        rateBitsPerSec: p.rateMbit * 1e6,
        target: { host: '127.0.0.1', port },
      }),
    );
  const wifi = links.get('wifi') as EmulatedLink;
  const cell = links.get('cellular') as EmulatedLink;
  const nameOf = (remotePort: number | undefined) =>
    [...links].find(([, l]) => l.address.port === remotePort)?.[0];
  const timers: NodeJS.Timeout[] = [];
  let session: ReturnType<typeof connect> | undefined;

  const step = (s: MpStep) => {
    if (!session) return;
    const live = session.paths.filter((p) => p.state === 'open');
    const on = (link: EmulatedLink) => live.find((p) => p.remotePort === link.address.port);
    const add = (link: EmulatedLink) =>
      session
        ?.addPath({ remote: link.address })
        .then((p) => events.emit('event', `path ${p.pathId} added`))
        .catch((err: Error) => events.emit('event', `add failed: ${err.message}`));
    const remove = (link: EmulatedLink) => {
      const p = on(link);
      if (!p || !session) return;
      session.removePath(p.pathId);
      events.emit('event', `path ${p.pathId} removed; its bytes go on the others`);
    };
    if (s === 'cell-up') void add(cell);
    else if (s === 'cell-gone') remove(cell);
    else if (s === 'wifi-gone') remove(wifi);
    else void add(wifi);
  };

  return {
    description: 'in-process emulated links on loopback (run as root for interfaces in the lab)',
    events,
    start() {
      const hash = createHash('sha256');
      let bytes = 0;
      session = connect({ host: '127.0.0.1', port: wifi.address.port, ...DEMO_SESSION_TIMING });
      session.end();
      session.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        bytes += chunk.length;
      });
      session.on('end', () => events.emit('done', { bytes, sha256: hash.digest('hex') }));
      session.on('error', (err: Error & { code?: string }) =>
        events.emit('failed', { bytes, code: err.code ?? err.message }),
      );
      const s = session;
      const tick = setInterval(() => {
        events.emit('snapshot', {
          bytes,
          paths: s.paths.map((p) => ({
            pathId: p.pathId,
            local: nameOf(p.remotePort),
            remote: `${p.remoteAddress}:${p.remotePort}`,
            state: p.state,
            received: p.receivedBytes ?? 0,
            rttMs: p.rttMs,
          })),
        });
      }, 250);
      timers.push(tick);
      for (const e of MP_SCHEDULE)
        timers.push(
          setTimeout(() => {
            events.emit('event', e.label);
            step(e.step);
          }, e.atMs),
        );
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      session?.destroy();
      for (const l of links.values()) await l.close();
      await server.close();
      server.destroyAll();
    },
  };
}
