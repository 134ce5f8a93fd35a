import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Lab } from '../lab/lab.js';
import {
  MP_DEMO_SIZE,
  MP_SCHEDULE,
  type MpStep,
  type MultipathDemoNetwork,
} from './multipath-network.js';
import { demoTopology } from './network-lab.js';

const WORKER = join(dirname(fileURLToPath(import.meta.url)), 'multipath-worker.js');
const SERVER = '10.9.0.2';
const PORT = 7200;

/**
 * The multipath demo as root: a client with a Wi-Fi and a cellular interface in the lab,
 * its session under a mobility manager; the schedule changes the interfaces for real.
 */
export async function multipathLab(): Promise<MultipathDemoNetwork> {
  const topology = demoTopology('demo-mp', ['wifi', 'cell']);
  const lab = await Lab.up(topology);
  const children: ChildProcess[] = [];
  const timers: NodeJS.Timeout[] = [];
  const events: MultipathDemoNetwork['events'] = new EventEmitter();
  const worker = (host: string, argv: string[], onLine: (m: Record<string, unknown>) => void) => {
    const child = lab.spawn(host, [process.execPath, WORKER, ...argv], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (l) =>
      onLine(JSON.parse(l) as Record<string, unknown>),
    );
    return child;
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const child = worker('server', ['serve', String(PORT), String(MP_DEMO_SIZE)], () =>
        resolve(),
      );
      child.once('exit', () => reject(new Error('demo server exited')));
    });
    // The cellular network is not there yet.
    await lab.fault('cell', 'down', undefined, { side: 'a' });
  } catch (err) {
    for (const c of children) c.kill('SIGKILL');
    await lab.down();
    throw err;
  }
  const step = async (s: MpStep) => {
    if (s === 'cell-up') await lab.fault('cell', 'up');
    else if (s === 'cell-gone')
      await lab.exec('client', ['ip', 'addr', 'del', '10.2.0.2/24', 'dev', 'cell']);
    else if (s === 'wifi-gone') await lab.fault('wifi', 'down', undefined, { side: 'a' });
    else await lab.fault('wifi', 'up');
  };
  return {
    description: `network namespaces (lab ${lab.id}): a client with two interfaces, a mobility manager on netlink`,
    events,
    start() {
      worker('client', ['fetch', SERVER, String(PORT)], (m) => {
        if (m.event === 'snapshot') events.emit('snapshot', m as never);
        else if (m.event === 'event') events.emit('event', m.text as string);
        else if (m.event === 'done')
          events.emit('done', { bytes: m.bytes as number, sha256: m.sha256 as string });
        else if (m.event === 'failed')
          events.emit('failed', { bytes: m.bytes as number, code: m.code as string });
      });
      for (const e of MP_SCHEDULE)
        timers.push(
          setTimeout(() => {
            events.emit('event', e.label);
            step(e.step).catch((err: Error) => events.emit('event', `step failed: ${err.message}`));
          }, e.atMs),
        );
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      for (const c of children) c.kill('SIGKILL');
      await lab.down();
    },
  };
}
