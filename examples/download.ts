// A file download client over a roam session: the server sends a file, the client saves
// it and prints its SHA-256. Moving networks mid-download does not break it.
//   node dist/examples/download.js serve FILE [HOST] [PORT]
//   node dist/examples/download.js get OUT HOST PORT
// Errors are one line on stderr with a code; a usage error exits 2, any other error 1.
// `get` writes OUT.part and renames it to OUT once the whole file has arrived, so a failed
// download leaves no OUT behind.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, openSync, closeSync, fstatSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { connect, createServer } from '../src/session/index.js';

const USAGE = 'usage: download.js serve FILE [HOST] [PORT] | get OUT HOST PORT';

class Failure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function port(text: string | undefined, allowZero: boolean): number {
  const n = text !== undefined && /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  const min = allowZero ? 0 : 1;
  if (!(n >= min && n <= 65535))
    throw new Failure('ROAM_USAGE', `PORT must be ${min}..65535, got ${JSON.stringify(text)}`);
  return n;
}

/** Checked before listening: a server that cannot read its file should not start. */
function readableFile(file: string): void {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new Failure(e.code ?? 'EIO', `cannot read ${file}: ${e.message.replace(/^\w+: /, '')}`);
  }
  try {
    if (!fstatSync(fd).isFile()) throw new Failure('EISDIR', `${file} is not a regular file`);
  } finally {
    closeSync(fd);
  }
}

async function serve(file: string, host: string, portNumber: number): Promise<void> {
  readableFile(file);
  const server = createServer({}, (session) => {
    session.on('error', (err: Error & { code?: string }) =>
      console.error(`session ${session.id}: ${err.message} [${err.code ?? 'ERROR'}]`),
    );
    session.resume(); // the client sends nothing; keep the stream flowing
    void pipeline(createReadStream(file), session).catch((err: Error & { code?: string }) =>
      console.error(`session ${session.id}: ${err.message} [${err.code ?? 'ERROR'}]`),
    );
  });
  const at = await server.listen({ host, port: portNumber });
  console.log(`serving ${file} on ${at.host}:${at.port}`);
}

async function get(out: string, host: string, portNumber: number): Promise<void> {
  const session = connect({ host, port: portNumber });
  session.on('migrating', ({ reason }: { reason: string }) =>
    console.error(`path lost (${reason}); resuming…`),
  );
  session.on('migrated', ({ ms }: { ms: number }) =>
    console.error(`resumed after ${ms.toFixed(0)} ms`),
  );
  session.end(); // nothing to send
  const hash = createHash('sha256');
  session.on('data', (chunk: Buffer) => hash.update(chunk));
  const part = `${out}.part`;
  try {
    await pipeline(session, createWriteStream(part, { flags: 'wx' }));
  } catch (err) {
    // 'wx': an existing .part is another download's, not ours to remove.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') await rm(part, { force: true });
    throw err;
  }
  await rename(part, out);
  console.log(`${out}: sha256 ${hash.digest('hex')}`);
}

async function main(argv: string[]): Promise<void> {
  const [mode, file, ...rest] = argv;
  if (mode === 'serve' && file && rest.length <= 2) {
    const [host = '127.0.0.1', portText = '7001'] = rest;
    return serve(file, host, port(portText, true));
  }
  if (mode === 'get' && file && rest.length === 2 && rest[0]) {
    return get(file, rest[0], port(rest[1], false));
  }
  throw new Failure('ROAM_USAGE', USAGE);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const e = err as Error & { code?: unknown };
  const code = typeof e.code === 'string' ? e.code : 'ERROR';
  console.error(`download: ${e instanceof Error ? e.message : String(err)} [${code}]`);
  process.exit(code === 'ROAM_USAGE' ? 2 : 1);
});
