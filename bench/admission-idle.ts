// Issue 11's "keep that": an honest client's connect time while the server holds 3,000 idle
// TCP connections, 500 sending random bytes and 500 dribbling a byte every 200 ms, with
// admission on (the default). Anchor in the same run: the same connects with no attack.
// Loopback, no root: attackers from 127.0.0.1, honest clients from 127.0.0.2 (another source).
import { randomBytes } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { connect, createServer } from '../src/session/index.js';
import { benchOptions, option } from './lib/options.js';
import { median, percentile } from './lib/stats.js';
import { publish } from './report.js';

const { values: opt } = benchOptions({
  name: 'admission-idle',
  summary:
    'honest connect time while idle, random-byte and dribbling connections hold the server, against no attack (loopback, no root)',
  variables: {
    BENCH_HONEST: option.number(200, 'honest connects, one after another', {
      integer: true,
      min: 10,
    }),
    BENCH_IDLE: option.number(3000, 'idle connections', { integer: true, min: 0 }),
  },
});

async function honestConnects(port: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < opt.BENCH_HONEST; i++) {
    const t0 = performance.now();
    const c = connect({ host: '127.0.0.2', port, localAddress: '127.0.0.2' });
    await new Promise<void>((resolve, reject) => {
      c.once('connect', () => resolve());
      c.once('error', reject);
    });
    times.push(performance.now() - t0);
    c.destroy();
  }
  return times;
}

const server = createServer({}, (s) => s.pipe(s));
const { port } = await server.listen({ host: '0.0.0.0' });
// Warm-up (JIT, key generation): not counted.
await honestConnects(port);
const quiet = await honestConnects(port);

const attack: Socket[] = [];
const dribblers: NodeJS.Timeout[] = [];
const open = (): Socket => {
  const s = netConnect({ host: '127.0.0.1', port });
  s.on('error', () => undefined);
  attack.push(s);
  return s;
};
const connected = (s: Socket) => new Promise<void>((r) => s.once('connect', () => r()));
const starting: Promise<void>[] = [];
for (let i = 0; i < opt.BENCH_IDLE; i++) starting.push(connected(open()));
for (let i = 0; i < 500; i++) {
  const s = open();
  starting.push(connected(s).then(() => void s.write(randomBytes(600))));
}
for (let i = 0; i < 500; i++) {
  const s = open();
  starting.push(connected(s));
  dribblers.push(setInterval(() => s.writable && s.write(Buffer.from([0x52])), 200));
}
await Promise.all(starting);
let attacked: number[];
let counters: Record<string, unknown>;
try {
  attacked = await honestConnects(port);
  counters = { ...server.admissionCounters };
} finally {
  for (const t of dribblers) clearInterval(t);
  for (const s of attack) s.destroy();
  server.destroyAll();
  await server.close();
}

const row = (xs: number[]) => ({
  p50: median(xs),
  p99: percentile(xs, 99),
  max: Math.max(...xs),
});
const result = {
  honest: opt.BENCH_HONEST,
  idle: opt.BENCH_IDLE,
  quiet: row(quiet),
  attacked: row(attacked),
  counters,
};
const ms = (x: number) => `${x.toFixed(1)} ms`;
const md = [
  '## admission-idle',
  '',
  `Honest connect time (connect() to 'connect', ${opt.BENCH_HONEST} one after another from another source) while the server holds ${opt.BENCH_IDLE} idle TCP connections, 500 sending random bytes and 500 dribbling a byte every 200 ms; admission on (defaults), loopback.`,
  '',
  '| | p50 | p99 | max |',
  '|---|---|---|---|',
  `| no attack (anchor) | ${ms(result.quiet.p50)} | ${ms(result.quiet.p99)} | ${ms(result.quiet.max)} |`,
  `| under the idle/slow attack | ${ms(result.attacked.p50)} | ${ms(result.attacked.p99)} | ${ms(result.attacked.max)} |`,
  '',
  `p99 under attack / no attack: ${(result.attacked.p99 / result.quiet.p99).toFixed(2)}. The attackers' source met its handshake limit ${String(counters.sourceLimitHandshakes)} times (each such connection closed at once).`,
  '',
  'Reproduce: `npm run bench -- admission-idle` (`BENCH_HONEST`, `BENCH_IDLE`).',
].join('\n');
publish('admission-idle', result, md);
process.exit(0);
