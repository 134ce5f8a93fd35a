/**
 * A long-lived non-HTTP TCP flow from a lab host: connects to HOST:PORT, reads, and reports
 * JSON lines: connected (with its local port), error (code, ms since the last data), end.
 */
import { connect } from 'node:net';

const [host = '127.0.0.1', port = '7000'] = process.argv.slice(2);
const say = (o: object): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`);
};
const socket = connect(Number(port), host);
let bytes = 0;
let lastData = Date.now();
socket.on('connect', () => say({ event: 'connected', localPort: socket.localPort }));
socket.on('data', (d) => {
  bytes += d.length;
  lastData = Date.now();
});
socket.on('error', (err: NodeJS.ErrnoException) => {
  say({
    event: 'error',
    code: err.code,
    sinceLastDataMs: Date.now() - lastData,
    bytes,
    at: Date.now(),
  });
  process.exit(0);
});
socket.on('end', () => {
  say({ event: 'end', bytes });
  process.exit(0);
});
process.on('SIGTERM', () => process.exit(0));
