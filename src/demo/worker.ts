// The demo's processes inside lab namespaces, reporting as JSON lines on stdout:
//   serve HOST DATA_PORT ECHO_PORT ROAM_PORT SIZE    TCP content, TCP echo, roam content
//   fetch tcp|roam HOST PORT IFNAME                   one download from the interface IFNAME
//   ping HOST ECHO_PORT IFNAME                        RTT samples over the interface IFNAME
import { networkInterfaces } from 'node:os';
import { RoamFetch, startRoamDemoServer } from './roam-transfer.js';
import { DEMO_SEED } from './scenario.js';
import { Pinger } from './pinger.js';
import { Fetch, startDemoServer } from './transfer.js';

const [mode, ...args] = process.argv.slice(2);
const say = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);

/** The interface's IPv4 address now: after a renumber, the new one. */
function addressOf(ifname: string | undefined): string | undefined {
  return networkInterfaces()[ifname ?? '']?.find((a) => a.family === 'IPv4')?.address;
}

if (mode === 'serve') {
  const [host = '0.0.0.0', dataPort, echoPort, roamPort, size] = args;
  await startDemoServer({
    host,
    dataPort: Number(dataPort),
    echoPort: Number(echoPort),
    seed: DEMO_SEED,
    size: Number(size),
  });
  await startRoamDemoServer({ host, port: Number(roamPort), seed: DEMO_SEED, size: Number(size) });
  say({ event: 'listening' });
} else if (mode === 'fetch') {
  const [transport, host = '', port, ifname] = args;
  const fetch =
    transport === 'roam'
      ? new RoamFetch({ host, port: Number(port), localAddress: () => addressOf(ifname) })
      : new Fetch({ host, port: Number(port), localAddress: addressOf(ifname) });
  let last = 0;
  const progress = setInterval(() => {
    if (fetch.bytes !== last) say({ event: 'progress', bytes: (last = fetch.bytes) });
  }, 100);
  const finish = (event: string, r: object) => {
    clearInterval(progress);
    say({ event, ...r });
  };
  fetch.on('done', (r) => finish('done', r));
  fetch.on('failed', (r) => finish('failed', r));
} else if (mode === 'ping') {
  const [host = '', echoPort, ifname] = args;
  const pinger = new Pinger({ host, port: Number(echoPort), localAddress: addressOf(ifname) });
  pinger.on('rtt', (ms) => say({ event: 'rtt', ms }));
} else {
  process.stderr.write(
    'usage: worker serve … | fetch tcp|roam HOST PORT IFNAME | ping HOST ECHO_PORT IFNAME\n',
  );
  process.exit(2);
}
