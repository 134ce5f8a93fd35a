import { EventEmitter } from 'node:events';
import { EmulatedLink } from '../lab/emulated-link/index.js';
import type { DemoNetwork, DemoTransfer } from './network.js';
import { startRoamDemoServer, RoamFetch } from './roam-transfer.js';
import { DEMO_PATHS, DEMO_SEED, DEMO_TRANSFERS } from './scenario.js';
import { Pinger } from './pinger.js';
import { Fetch, startDemoServer } from './transfer.js';

/** The demo without root: each path is a set of in-process emulated links on loopback. */
export async function inProcessNetwork(): Promise<DemoNetwork> {
  const closers: (() => Promise<void>)[] = [];
  const links = new Map<string, EmulatedLink[]>();
  const targets = new Map<string, { tcp: number; roam: number; echo: number }>();
  const stoppers: (() => void)[] = [];
  const rtt = new EventEmitter<{ rtt: [path: string, ms: number] }>();
  for (const p of DEMO_PATHS) {
    const tcp = await startDemoServer({ host: '127.0.0.1', seed: DEMO_SEED, size: p.sizeBytes });
    const roam = await startRoamDemoServer({
      host: '127.0.0.1',
      seed: DEMO_SEED,
      size: p.sizeBytes,
    });
    closers.push(
      () => tcp.close(),
      () => roam.close(),
    );
    const opts = { delayMs: p.rttMs / 2, rateBitsPerSec: p.rateMbit * 1e6, name: p.name };
    const list = [
      await EmulatedLink.start({ ...opts, target: { host: '127.0.0.1', port: tcp.dataPort } }),
      await EmulatedLink.start({ ...opts, target: { host: '127.0.0.1', port: roam.port } }),
      await EmulatedLink.start({ ...opts, target: { host: '127.0.0.1', port: tcp.echoPort } }),
    ];
    links.set(p.name, list);
    targets.set(p.name, {
      tcp: list[0]?.address.port ?? 0,
      roam: list[1]?.address.port ?? 0,
      echo: list[2]?.address.port ?? 0,
    });
  }
  return {
    description: 'in-process emulated links on loopback (run as root for the namespace lab)',
    async start() {
      const out = new Map<string, DemoTransfer>();
      for (const t of DEMO_TRANSFERS) {
        const ports = targets.get(t.path.name);
        if (!ports) continue;
        const fetch =
          t.transport === 'tcp'
            ? new Fetch({ host: '127.0.0.1', port: ports.tcp })
            : new RoamFetch({ host: '127.0.0.1', port: ports.roam });
        stoppers.push(() => fetch.stop());
        out.set(t.key, fetch);
      }
      for (const p of DEMO_PATHS) {
        const pinger = new Pinger({ host: '127.0.0.1', port: targets.get(p.name)?.echo ?? 0 });
        pinger.on('rtt', (ms) => rtt.emit('rtt', p.name, ms));
        stoppers.push(() => pinger.stop());
      }
      return out;
    },
    rtt,
    async fault(path, kind) {
      for (const link of links.get(path) ?? []) {
        if (kind === 'stall') link.stall();
        else if (kind === 'up') link.resume();
        else link.cut({ reset: true });
      }
    },
    async close() {
      for (const stop of stoppers) stop();
      for (const list of links.values()) for (const link of list) await link.close();
      for (const close of closers) await close();
    },
  };
}
