import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Lab } from '../lab/lab.js';
import { parseTopology } from '../lab/topology/load.js';
import type { Topology } from '../lab/topology/model.js';
import type { DemoNetwork, DemoTransfer, TransferEvents } from './network.js';
import { DEMO_PATHS, DEMO_TRANSFERS } from './scenario.js';

const WORKER = join(dirname(fileURLToPath(import.meta.url)), 'worker.js');
const SERVER = '10.9.0.2';
const ports = (i: number) => ({ data: 7100 + 3 * i, echo: 7101 + 3 * i, roam: 7102 + 3 * i });

/**
 * The demo's lab: a client with one link per demo path to a router, the server behind it.
 * `linkNames` name the client's links (the multipath demo uses short interface names).
 */
export function demoTopology(name: string, linkNames: readonly string[]): Topology {
  return parseTopology({
    name,
    hosts: { client: {}, router: { forward: true }, server: {} },
    links: [
      ...DEMO_PATHS.map((p, i) => ({
        name: linkNames[i] ?? p.name,
        a: { host: 'client', ip: `10.${i + 1}.0.2/24`, gateway: `10.${i + 1}.0.1` },
        b: { host: 'router', ip: `10.${i + 1}.0.1/24` },
        rate: `${p.rateMbit}mbit`,
        delay: `${p.rttMs / 2}ms`,
      })),
      {
        name: 'srv',
        a: { host: 'router', ip: '10.9.0.1/24' },
        b: { host: 'server', ip: `${SERVER}/24`, gateway: '10.9.0.1' },
      },
    ],
  });
}

/** The demo as root: a real namespace lab, client and server processes on real addresses. */
export async function labNetwork(): Promise<DemoNetwork> {
  const topology = demoTopology(
    'demo',
    DEMO_PATHS.map((p) => p.name),
  );
  const lab = await Lab.up(topology);
  const children: ChildProcess[] = [];
  const rtt = new EventEmitter<{ rtt: [path: string, ms: number] }>();
  const worker = (host: string, args: string[], onLine: (msg: Record<string, unknown>) => void) => {
    const child = lab.spawn(host, [process.execPath, WORKER, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (l) =>
      onLine(JSON.parse(l) as Record<string, unknown>),
    );
    return child;
  };
  try {
    for (const [i, p] of DEMO_PATHS.entries()) {
      const { data, echo, roam } = ports(i);
      await new Promise<void>((resolve, reject) => {
        const child = worker(
          'server',
          ['serve', '0.0.0.0', String(data), String(echo), String(roam), String(p.sizeBytes)],
          () => resolve(),
        );
        child.once('exit', () => reject(new Error('demo server exited')));
      });
    }
  } catch (err) {
    for (const c of children) c.kill('SIGKILL');
    await lab.down();
    throw err;
  }
  return {
    description: `network namespaces (lab ${lab.id}): real addresses, tbf rate limits, user-space delay line`,
    async start() {
      const out = new Map<string, DemoTransfer>();
      for (const t of DEMO_TRANSFERS) {
        const i = DEMO_PATHS.indexOf(t.path);
        const port = t.transport === 'tcp' ? ports(i).data : ports(i).roam;
        const transfer = new EventEmitter<TransferEvents>();
        worker('client', ['fetch', t.transport, SERVER, String(port), t.path.name], (m) => {
          if (m.event === 'progress') transfer.emit('progress', m.bytes as number);
          else if (m.event === 'done')
            transfer.emit('done', { bytes: m.bytes as number, sha256: m.sha256 as string });
          else if (m.event === 'failed')
            transfer.emit('failed', { bytes: m.bytes as number, code: m.code as string });
        });
        out.set(t.key, transfer);
      }
      for (const [i, p] of DEMO_PATHS.entries()) {
        worker('client', ['ping', SERVER, String(ports(i).echo), p.name], (m) => {
          if (m.event === 'rtt') rtt.emit('rtt', p.name, m.ms as number);
        });
      }
      return out;
    },
    rtt,
    async fault(path, kind) {
      await lab.fault(path, kind === 'cut' ? 'renumber' : kind);
    },
    async close() {
      for (const c of children) c.kill('SIGKILL');
      await lab.down();
    },
  };
}
