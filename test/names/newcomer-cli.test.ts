import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { packageRoot } from '../../src/package-root.js';

// Issue 18, points 4 and 13: `roam names watch` says on stderr when its server cannot be
// reached and when it is back (and keeps retrying meanwhile), prints IPv6 in brackets; and
// `roam names heartbeat` / `roam names delete` let list-devices show online devices.

const CLI = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');

function roam(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

/** Lines of a child's stream, each awaited in order. */
function lines(stream: NodeJS.ReadableStream): () => Promise<string> {
  const queue: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buf += chunk;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const w = waiting.shift();
      if (w) w(line);
      else queue.push(line);
    }
  });
  return () => {
    const line = queue.shift();
    if (line !== undefined) return Promise.resolve(line);
    return new Promise((resolve) => waiting.push(resolve));
  };
}

function start(...args: string[]): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
}

async function stop(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  return exited;
}

test('names watch with no server says so, retries, says when it is back, and when it goes', async (t) => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dir = mkdtempSync(join(tmpdir(), 'roam-newcomer-names-'));
  const children: ChildProcessWithoutNullStreams[] = [];
  t.after(async () => {
    for (const c of children) await stop(c);
    rmSync(dir, { recursive: true, force: true });
  });

  const watch = start(
    'names',
    'watch',
    'bob@example.com',
    'laptop.bob@example.com',
    '--server',
    url,
  );
  children.push(watch);
  const watchErr = lines(watch.stderr);
  const watchOut = lines(watch.stdout);
  assert.equal(
    await watchErr(),
    `roam: names watch: cannot reach the name server at ${url}: connect ECONNREFUSED 127.0.0.1:${port}; retrying [ROAM_NAMES_UNREACHABLE]`,
  );

  const server = start('names', 'serve', '--port', String(port), '--store', 'memory');
  children.push(server);
  assert.equal(await lines(server.stdout)(), `listening ${url}`);
  assert.equal(await watchErr(), `roam: names watch: connected to ${url}`);

  // A record with an IPv6 address is printed with brackets.
  const user = join(dir, 'bob.pem');
  const device = join(dir, 'laptop.pem');
  assert.equal((await roam('names', 'keygen', user)).code, 0);
  assert.equal((await roam('names', 'keygen', device)).code, 0);
  const pub = await roam(
    'names',
    'publish',
    'bob@example.com',
    '--key',
    user,
    '--addr',
    '[::1]:7000,wifi',
    '--server',
    url,
  );
  assert.equal(pub.code, 0, pub.stderr);
  assert.match(await watchOut(), /^put bob@example\.com version \d+ \[::1\]:7000$/);

  // list-devices: offline until a heartbeat, online after; delete removes the device.
  const dev = await roam(
    'names',
    'publish',
    'laptop.bob@example.com',
    '--key',
    device,
    '--user-key',
    user,
    '--addr',
    '10.1.0.2:7000,wifi',
    '--server',
    url,
  );
  assert.equal(dev.code, 0, dev.stderr);
  const put = await watchOut();
  assert.match(put, /^put laptop\.bob@example\.com version \d+ 10\.1\.0\.2:7000$/);
  assert.equal(
    (await roam('names', 'list-devices', 'bob@example.com', '--server', url)).stdout,
    'laptop.bob@example.com offline\n',
  );
  const beat = await roam(
    'names',
    'heartbeat',
    'laptop.bob@example.com',
    '--key',
    device,
    '--server',
    url,
  );
  assert.deepEqual(
    [beat.code, beat.stdout, beat.stderr],
    [0, 'laptop.bob@example.com: online\n', ''],
  );
  assert.equal(
    (await roam('names', 'list-devices', 'bob@example.com', '--server', url)).stdout,
    'laptop.bob@example.com online\n',
  );
  const del = await roam(
    'names',
    'delete',
    'laptop.bob@example.com',
    '--key',
    user,
    '--server',
    url,
  );
  assert.deepEqual([del.code, del.stderr], [0, '']);
  const version = /^deleted laptop\.bob@example\.com version (\d+) \(revision \d+\)\n$/.exec(
    del.stdout,
  )?.[1];
  assert.ok(version, del.stdout);
  assert.equal(await watchOut(), `delete laptop.bob@example.com version ${version}`);
  const gone = await roam('names', 'resolve', 'laptop.bob@example.com', '--server', url);
  assert.equal(gone.code, 1);
  assert.equal(
    gone.stderr,
    'roam: laptop.bob@example.com is not registered [ROAM_NAMES_NOT_FOUND]\n',
  );
  const none = await roam('names', 'list-devices', 'bob@example.com', '--server', url);
  assert.deepEqual([none.code, none.stdout], [0, '']);

  // The server goes away: said once; the watch keeps running and exits cleanly on SIGTERM.
  assert.equal(await stop(server), 0);
  assert.equal(
    await watchErr(),
    `roam: names watch: the watch stream from ${url} ended; reconnecting [ROAM_NAMES_UNREACHABLE]`,
  );
  assert.equal(watch.exitCode, null);
  assert.equal(await stop(watch), 0);
});

test('a watch whose server accepts but never answers says so after its connect timeout', async (t) => {
  const held = new Set<Socket>();
  const silent = createServer((s) => held.add(s)); // accepts, never answers
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const port = (silent.address() as { port: number }).port;
  const { NamesClient } = await import('../../src/names/client/client.js');
  const client = new NamesClient({ server: `http://127.0.0.1:${port}` });
  t.after(async () => {
    client.close();
    for (const s of held) s.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });
  const outage = new Promise<Error>((resolve) =>
    client.watch(['bob@example.com'], () => undefined, {
      connectTimeoutMs: 200,
      onOutage: resolve,
      onError: () => undefined,
    }),
  );
  const err = (await outage) as Error & { code?: string };
  assert.equal(err.code, 'ROAM_NAMES_UNREACHABLE');
  assert.equal(
    err.message,
    `cannot reach the name server at http://127.0.0.1:${port}: no answer in 200 ms; retrying`,
  );
});
