import { createLogger } from '../../log/logger.js';
import { WireDaemon } from './daemon.js';

// Entry of the wire daemon process: `node daemon-main.js --roam-lab-wire <id> [--owner <pid>]`.
// The `--roam-lab-wire <id>` marker lets `roam lab down --all` find daemons from /proc.
const args = process.argv.slice(2);
const labId = args[args.indexOf('--roam-lab-wire') + 1];
const ownerArg = args.indexOf('--owner') >= 0 ? args[args.indexOf('--owner') + 1] : undefined;
const log = createLogger('info');

if (!labId || args.indexOf('--roam-lab-wire') < 0) {
  console.error('usage: daemon-main --roam-lab-wire <lab id> [--owner <pid>]');
  process.exit(2);
}

const daemon = new WireDaemon(labId, log);
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.on(signal, () => {
    daemon.stop();
    process.exit(0);
  });
}
try {
  await daemon.start(ownerArg ? Number(ownerArg) : null);
  // The parent waits for this line on our stdout (a pipe); after it, we never write there.
  process.stdout.write('ready\n');
  log.info({ labId }, 'wire daemon ready');
} catch (err) {
  process.stdout.write(`error ${(err as Error).message.replace(/\n/g, ' ')}\n`);
  daemon.stop();
  process.exit(1);
}
