// An echo server, ported from node:net to roam: the import and the factory calls change,
// nothing else. Run: node dist/examples/echo-server.js [HOST] [PORT]
//
//   - import { createServer } from 'node:net';
//   + import { createServer } from '../src/session/index.js';   // 'roam' when installed
import { createServer } from '../src/session/index.js';

const host = process.argv[2] ?? '127.0.0.1';
const port = Number(process.argv[3] ?? 7000);

const server = createServer({}, (session) => {
  console.log(`session ${session.id} from ${session.remoteAddress}`);
  session.on('migrated', ({ ms }: { ms: number }) =>
    console.log(`session ${session.id} moved in ${ms.toFixed(0)} ms`),
  );
  session.on('error', (err) => console.error(`session ${session.id}: ${err.message}`));
  session.pipe(session);
});
const at = await server.listen({ host, port });
console.log(`roam echo server on ${at.host}:${at.port}`);
