// A file download client over a roam session: the server sends a file, the client saves
// it and prints its SHA-256. Moving networks mid-download does not break it.
//   node dist/examples/download.js serve FILE [HOST] [PORT]
//   node dist/examples/download.js get OUT HOST PORT
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { connect, createServer } from '../src/session/index.js';

const [mode, file, host = '127.0.0.1', portText = '7001'] = process.argv.slice(2);
const port = Number(portText);

if (mode === 'serve' && file) {
  const server = createServer({}, (session) => {
    session.on('error', (err) => console.error(`session ${session.id}: ${err.message}`));
    session.resume(); // the client sends nothing; keep the stream flowing
    void pipeline(createReadStream(file), session).catch((err: Error) =>
      console.error(err.message),
    );
  });
  const at = await server.listen({ host, port });
  console.log(`serving ${file} on ${at.host}:${at.port}`);
} else if (mode === 'get' && file) {
  const session = connect({ host, port });
  session.on('migrating', ({ reason }: { reason: string }) =>
    console.error(`path lost (${reason}); resuming…`),
  );
  session.on('migrated', ({ ms }: { ms: number }) =>
    console.error(`resumed after ${ms.toFixed(0)} ms`),
  );
  session.end(); // nothing to send
  const hash = createHash('sha256');
  session.on('data', (chunk: Buffer) => hash.update(chunk));
  await pipeline(session, createWriteStream(file));
  console.log(`${file}: sha256 ${hash.digest('hex')}`);
} else {
  console.error('usage: download.js serve FILE [HOST] [PORT] | get OUT HOST PORT');
  process.exit(2);
}
