import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Lab } from '../lab/lab.js';
import { parseTopology } from '../lab/topology/load.js';
import type { DemoNetwork, DemoTransfer, TransferEvents } from './network.js';
import { DEMO_PATHS } from './scenario.js';

const WORKER = join(dirname(fileURLToPath(import.meta.url)), 'worker.js');

/** The demo as root: a real namespace lab, client and server processes on real addresses. */
export async function labNetwork(): Promise<DemoNetwork> {
  const topology = parseTopology({
    name: 'demo',
    hosts: { client: {}, router: { forward: true }, server: {} },
    links: [
      ...DEMO_PATHS.map((p, i) => ({
        name: p.name,
        a: { host: 'client', ip: `10.${i + 1}.0.2/24`, gateway: `10.${i + 1}.0.1` },
        b: { host: 'router', ip: `10.${i + 1}.0.1/24` },
        rate: `${p.rateMbit}mbit`,
        delay: `${p.rttMs / 2}ms`,
      })),
      {
        name: 'srv',
        a: { host: 'router', ip: '10.9.0.1/24' },
        b: { host: 'server', ip: '10.9.0.2/24', gateway: '10.9.0.1' },
      },
    ],
  });
  const lab = await Lab.up(topology);
  const children: ChildProcess[] = [];
  const rtt = new EventEmitter<{ rtt: [path: string, ms: number] }>();
  const lines = (child: ChildProcess, fn: (msg: Record<string, unknown>) => void) =>
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (l) =>
      fn(JSON.parse(l) as Record<string, unknown>),
    );
  try {
    for (const [i, p] of DEMO_PATHS.entries()) {
      const server = lab.spawn(
        'server',
        [
          process.execPath,
          WORKER,
          'serve',
          '0.0.0.0',
          String(7100 + 2 * i),
          String(7101 + 2 * i),
          String(p.sizeBytes),
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      children.push(server);
      await new Promise<void>((resolve, reject) => {
        lines(server, () => resolve());
        server.once('exit', () => reject(new Error('demo server exited')));
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
      for (const [i, p] of DEMO_PATHS.entries()) {
        const t = new EventEmitter<TransferEvents>();
        const child = lab.spawn(
          'client',
          [
            process.execPath,
            WORKER,
            'fetch',
            p.name,
            '10.9.0.2',
            String(7100 + 2 * i),
            String(7101 + 2 * i),
            lab.address('client', p.name),
          ],
          { stdio: ['ignore', 'pipe', 'inherit'] },
        );
        children.push(child);
        lines(child, (m) => {
          if (m.event === 'progress') t.emit('progress', m.bytes as number);
          else if (m.event === 'rtt') rtt.emit('rtt', p.name, m.ms as number);
          else if (m.event === 'done')
            t.emit('done', { bytes: m.bytes as number, sha256: m.sha256 as string });
          else if (m.event === 'failed')
            t.emit('failed', { bytes: m.bytes as number, code: m.code as string });
        });
        out.set(p.name, t);
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
