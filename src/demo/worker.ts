// The demo's processes inside lab namespaces, reporting as JSON lines on stdout:
//   serve HOST DATA_PORT ECHO_PORT SIZE    the content server
//   fetch PATH HOST DATA_PORT ECHO_PORT LOCAL_ADDR    one download and an RTT probe over one path

import { DEMO_SEED } from './scenario.js';
import { Fetch, Pinger, startDemoServer } from './transfer.js';

const [mode, ...args] = process.argv.slice(2);
const say = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);

if (mode === 'serve') {
  const [host, dataPort, echoPort, size] = args;
  await startDemoServer({
    host: host ?? '0.0.0.0',
    dataPort: Number(dataPort),
    echoPort: Number(echoPort),
    seed: DEMO_SEED,
    size: Number(size),
  });
  say({ event: 'listening' });
} else if (mode === 'fetch') {
  const [, host, dataPort, echoPort, local] = args;
  const fetch = new Fetch({ host: host as string, port: Number(dataPort), localAddress: local });
  const pinger = new Pinger({ host: host as string, port: Number(echoPort), localAddress: local });
  let last = 0;
  const progress = setInterval(() => {
    if (fetch.bytes !== last) say({ event: 'progress', bytes: (last = fetch.bytes) });
  }, 100);
  pinger.on('rtt', (ms) => say({ event: 'rtt', ms }));
  const finish = (event: string, r: object) => {
    clearInterval(progress);
    say({ event, ...r });
  };
  fetch.on('done', (r) => finish('done', r));
  fetch.on('failed', (r) => finish('failed', r));
} else {
  process.stderr.write(
    'usage: worker serve HOST DATA_PORT ECHO_PORT SIZE | fetch PATH HOST DATA_PORT ECHO_PORT LOCAL_ADDR\n',
  );
  process.exit(2);
}
