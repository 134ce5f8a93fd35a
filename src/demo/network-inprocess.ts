import { EventEmitter } from 'node:events';
import { EmulatedLink } from '../lab/emulated-link/index.js';
import type { DemoNetwork, DemoTransfer } from './network.js';
import { DEMO_PATHS, DEMO_SEED } from './scenario.js';
import { type DemoServer, Fetch, Pinger, startDemoServer } from './transfer.js';

/** The demo without root: each path is a pair of in-process emulated links on loopback. */
export async function inProcessNetwork(): Promise<DemoNetwork> {
  const servers: DemoServer[] = [];
  const links = new Map<string, EmulatedLink[]>();
  const stoppers: (() => void)[] = [];
  const rtt = new EventEmitter<{ rtt: [path: string, ms: number] }>();
  for (const p of DEMO_PATHS) {
    const server = await startDemoServer({ host: '127.0.0.1', seed: DEMO_SEED, size: p.sizeBytes });
    servers.push(server);
    const opts = { delayMs: p.rttMs / 2, rateBitsPerSec: p.rateMbit * 1e6, name: p.name };
    links.set(p.name, [
      await EmulatedLink.start({ ...opts, target: { host: '127.0.0.1', port: server.dataPort } }),
      await EmulatedLink.start({ ...opts, target: { host: '127.0.0.1', port: server.echoPort } }),
    ]);
  }
  return {
    description: 'in-process emulated links on loopback (run as root for the namespace lab)',
    async start() {
      const out = new Map<string, DemoTransfer>();
      for (const p of DEMO_PATHS) {
        const [data, echo] = links.get(p.name) ?? [];
        if (!data || !echo) continue;
        const fetch = new Fetch(data.address);
        const pinger = new Pinger(echo.address);
        pinger.on('rtt', (ms) => rtt.emit('rtt', p.name, ms));
        stoppers.push(
          () => fetch.stop(),
          () => pinger.stop(),
        );
        out.set(p.name, fetch);
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
      for (const s of servers) await s.close();
    },
  };
}
