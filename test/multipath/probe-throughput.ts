// Scratch measurement (not a test): download over emulated paths, report rate and duplicates.
import { once } from 'node:events';
import { EmulatedLink } from '../../src/lab/emulated-link/index.js';
import type { SchedulerName } from '../../src/multipath/scheduler.js';
import { connect } from '../../src/session/client.js';
import type { Session } from '../../src/session/session.js';
import { startServer, writeContent, readAll } from '../session/session-support.js';

const specs = JSON.parse(process.argv[2] ?? '[]') as { rateBitsPerSec: number; delayMs: number }[];
const size = Number(process.argv[3] ?? 10 * 1024 * 1024);
const scheduler = (process.argv[4] ?? 'aggregate') as SchedulerName;
let peer: Session | undefined;
const { server, port } = await startServer((s) => {
  peer = s;
  s.on('error', () => undefined);
}, { scheduler });
const links: EmulatedLink[] = [];
for (const s of specs) links.push(await EmulatedLink.start({ ...s, target: { host: '127.0.0.1', port } }));
server.setAdvertise(links.slice(1).map((l) => l.address));
const client = connect({ host: '127.0.0.1', port: links[0]!.address.port, scheduler, maxFlowpaths: 16 });
while (client.paths.filter((p) => p.state === 'open').length < specs.length) await once(client, 'path-up');
await new Promise((r) => setTimeout(r, 300));
const t0 = performance.now();
let stats: unknown[] = [];
let maxGap = 0;
let last = t0;
const fault = process.argv[5]; // 'stall:0' | 'down:1' ...
let faulted = false;
let gapAfter = 0;
let faultAt = 0;
const got = readAll(client, (n) => {
  const now = performance.now();
  if (faulted) gapAfter = Math.max(gapAfter, now - last);
  if (fault && !faulted && n >= size * 0.3) {
    faulted = true;
    faultAt = now;
    const [kind, idx] = fault.split(':');
    const link = links[Number(idx)]!;
    if (kind === 'stall') link.stall();
    else void link.down();
  }
  maxGap = Math.max(maxGap, now - last);
  last = now;
  if (n === size) stats = peer!.paths.map((p) => ({ id: p.pathId, sent: p.sentBytes, lost: p.lostBytes, rate: p.rateBytesPerSec, cap: p.capBytes, rtt: p.minRttMs }));
});
void writeContent(peer!, 'x', size);
const r = await got;
const secs = (performance.now() - t0) / 1000;
const ideal = specs.reduce((a, s) => a + s.rateBitsPerSec, 0) / 8;
const sent = (stats as { sent: number }[]).reduce((a, s) => a + s.sent, 0);
console.log(JSON.stringify({ size: r.length, secs: secs.toFixed(2), MBps: (r.length / secs / 1e6).toFixed(2), ideal: (ideal / 1e6).toFixed(2), ratio: (r.length / secs / ideal).toFixed(3), dup: ((sent - size) / size).toFixed(3), maxGapMs: maxGap.toFixed(0), gapAfterFaultMs: gapAfter.toFixed(0), faultAt: (faultAt - t0).toFixed(0) }));
console.log(JSON.stringify(stats));
client.destroy();
peer?.destroy();
await server.close();
for (const l of links) await l.close();
process.exit(0);
