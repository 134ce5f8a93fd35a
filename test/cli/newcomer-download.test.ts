import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { packageRoot } from '../../src/package-root.js';

// Issue 18, point 11: examples/download checks its arguments, reports errors as one line
// with a code and no stack trace, refuses to serve a file it cannot read, and a failed `get`
// leaves no file behind.

const EXAMPLE = join(packageRoot(), 'dist', 'examples', 'download.js');

function download(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [EXAMPLE, ...args], {
    encoding: 'utf8',
    cwd,
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

test('download example: arguments checked, one-line errors with a code, no 0-byte file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'roam-download-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const usage =
    'download: usage: download.js serve FILE [HOST] [PORT] | get OUT HOST PORT [ROAM_USAGE]\n';
  assert.deepEqual(download(dir), { code: 2, stdout: '', stderr: usage });
  assert.deepEqual(download(dir, 'get', 'out.bin', '127.0.0.1'), {
    code: 2,
    stdout: '',
    stderr: usage,
  });
  assert.deepEqual(download(dir, 'serve', 'x', '127.0.0.1', '70000'), {
    code: 2,
    stdout: '',
    stderr: 'download: PORT must be 0..65535, got "70000" [ROAM_USAGE]\n',
  });
  assert.deepEqual(download(dir, 'serve', 'nosuch.bin'), {
    code: 1,
    stdout: '',
    stderr:
      "download: cannot read nosuch.bin: no such file or directory, open 'nosuch.bin' [ENOENT]\n",
  });
  const port = await closedPort();
  assert.deepEqual(download(dir, 'get', 'out.bin', '127.0.0.1', String(port)), {
    code: 1,
    stdout: '',
    stderr: `download: cannot reach 127.0.0.1:${port}: ECONNREFUSED [ROAM_CONNECT_FAILED]\n`,
  });
  assert.equal(existsSync(join(dir, 'out.bin')), false);
  assert.equal(existsSync(join(dir, 'out.bin.part')), false);
});

test('download example: a file served and fetched arrives byte-exact', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'roam-download-'));
  const data = randomBytes(2 * 1024 * 1024);
  writeFileSync(join(dir, 'big.bin'), data);
  const server = spawn(process.execPath, [EXAMPLE, 'serve', 'big.bin', '127.0.0.1', '0'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(async () => {
    if (server.exitCode === null) {
      server.kill('SIGTERM');
      await once(server, 'exit');
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const [first] = (await once(server.stdout, 'data')) as [Buffer];
  const port = /^serving big\.bin on 127\.0\.0\.1:(\d+)\n$/.exec(first.toString())?.[1];
  assert.ok(port, first.toString());
  const sha = createHash('sha256').update(data).digest('hex');
  const got = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (resolve) => {
      const c = spawn(process.execPath, [EXAMPLE, 'get', 'copy.bin', '127.0.0.1', port], {
        cwd: dir,
      });
      let stdout = '';
      let stderr = '';
      c.stdout.on('data', (b: Buffer) => (stdout += b));
      c.stderr.on('data', (b: Buffer) => (stderr += b));
      c.on('exit', (code) => resolve({ code, stdout, stderr }));
    },
  );
  assert.deepEqual(got, { code: 0, stdout: `copy.bin: sha256 ${sha}\n`, stderr: '' });
  const copy = readFileSync(join(dir, 'copy.bin'));
  assert.equal(copy.length, data.length);
  assert.equal(createHash('sha256').update(copy).digest('hex'), sha);
});
