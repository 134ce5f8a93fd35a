/**
 * The lab's origin: a plain node:http server with Range and ETag support serving one
 * deterministic body, plus a raw TCP server that streams bytes slowly (a non-HTTP flow).
 * Run inside the origin namespace: `node range-origin.js SIZE_BYTES HTTP_PORT TCP_PORT`.
 * Prints {"event":"listening"} once both listen; logs each request as a JSON line.
 */
import { createHash, createCipheriv } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';

const size = Number(process.argv[2] ?? 20 * 1024 * 1024);
const httpPort = Number(process.argv[3] ?? 80);
const tcpPort = Number(process.argv[4] ?? 7000);

/** Fast deterministic content: AES-CTR keystream of zeros. */
function content(n: number): Buffer {
  const c = createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16, 0));
  return Buffer.concat([c.update(Buffer.alloc(n)), c.final()]);
}

const body = content(size);
const sha256 = createHash('sha256').update(body).digest('hex');
const etag = `"${sha256.slice(0, 16)}"`;
const say = (o: object): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`);
};

const http = createHttpServer((req, res) => {
  say({
    event: 'request',
    method: req.method,
    url: req.url,
    range: req.headers.range ?? null,
    from: req.socket.remoteAddress,
  });
  if (req.url !== '/file') {
    res.writeHead(404).end();
    return;
  }
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  const ifRange = req.headers['if-range'];
  if (range && (ifRange === undefined || ifRange === etag)) {
    const first = Number(range[1]);
    const last = range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
    if (first >= size) {
      res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
      return;
    }
    res.writeHead(206, {
      etag,
      'accept-ranges': 'bytes',
      'content-length': last - first + 1,
      'content-range': `bytes ${first}-${last}/${size}`,
    });
    res.end(body.subarray(first, last + 1));
    return;
  }
  res.writeHead(200, { etag, 'accept-ranges': 'bytes', 'content-length': size });
  res.end(body);
});

// A non-HTTP flow: 1 KiB every 50 ms for as long as the client stays.
const tcp = createTcpServer((socket) => {
  say({ event: 'tcp', from: socket.remoteAddress });
  const timer = setInterval(() => socket.write(Buffer.alloc(1024, 1)), 50);
  socket.on('error', () => undefined);
  socket.on('close', () => clearInterval(timer));
});

let ready = 0;
const listening = (): void => {
  if (++ready === 2) say({ event: 'listening', size, etag, sha256 });
};
http.listen(httpPort, '0.0.0.0', listening);
tcp.listen(tcpPort, '0.0.0.0', listening);
process.on('SIGTERM', () => process.exit(0));
