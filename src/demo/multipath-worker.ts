// The multipath demo's processes inside lab namespaces, JSON lines on stdout:
//   serve PORT SIZE     a roam server streaming the demo content
//   fetch HOST PORT     a roam client under a mobility manager (netlink), with snapshots of
//                       its flowpaths four times a second
import { createHash } from 'node:crypto';
import { createMobilityManager } from '../mobility/mobility-manager.js';
import { connect, createServer } from '../session/index.js';
import { contentChunks } from './content.js';
import { DEMO_SEED, DEMO_SESSION_TIMING } from './scenario.js';

const [mode, ...args] = process.argv.slice(2);
const say = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);

if (mode === 'serve') {
  const [port, size] = args;
  const server = createServer(DEMO_SESSION_TIMING, (session) => {
    session.on('error', () => session.destroy());
    session.resume();
    const chunks = contentChunks(DEMO_SEED, Number(size));
    const pump = () => {
      for (let next = chunks.next(); !next.done; next = chunks.next())
        if (!session.write(next.value)) return void session.once('drain', pump);
      session.end();
    };
    pump();
  });
  await server.listen({ host: '0.0.0.0', port: Number(port) });
  say({ event: 'listening' });
} else if (mode === 'fetch') {
  const [host, port] = args;
  const manager = await createMobilityManager({ watch: { mode: 'netlink' } });
  manager.on('path-added', (e) =>
    say({
      event: 'event',
      text: `manager: path ${e.pathId} on ${e.address} (${e.ms.toFixed(0)} ms)`,
    }),
  );
  manager.on('path-removed', (e) =>
    say({
      event: 'event',
      text: `manager: path ${e.pathId} on ${e.address} removed, ${e.reason} (${e.ms.toFixed(0)} ms)`,
    }),
  );
  const session = connect({ host: host as string, port: Number(port), ...DEMO_SESSION_TIMING });
  session.end();
  manager.manage(session);
  const hash = createHash('sha256');
  let bytes = 0;
  session.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    bytes += chunk.length;
  });
  const tick = setInterval(() => {
    say({
      event: 'snapshot',
      bytes,
      paths: session.paths.map((p) => ({
        pathId: p.pathId,
        local: p.localAddress,
        remote: `${p.remoteAddress}:${p.remotePort}`,
        state: p.state,
        received: p.receivedBytes ?? 0,
        rttMs: p.rttMs,
      })),
    });
  }, 250);
  const finish = (msg: object) => {
    clearInterval(tick);
    manager.close();
    say(msg);
  };
  session.on('end', () => finish({ event: 'done', bytes, sha256: hash.digest('hex') }));
  session.on('error', (err: Error & { code?: string }) =>
    finish({ event: 'failed', bytes, code: err.code ?? err.message }),
  );
} else {
  process.stderr.write('usage: multipath-worker serve PORT SIZE | fetch HOST PORT\n');
  process.exit(2);
}
