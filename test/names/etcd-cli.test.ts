import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { packageRoot } from '../../src/package-root.js';

const CLI = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');

function roam(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

test('roam names serve --store etcd: clear errors for a missing, malformed or unreachable etcd', async () => {
  const none = await roam('names', 'serve', '--port', '0', '--store', 'etcd');
  assert.equal(none.code, 1);
  assert.match(none.stderr, /--store etcd needs --etcd-endpoints .*\[ROAM_NAMES_CONFIG\]/);

  const bad = await roam('names', 'serve', '--store', 'etcd', '--etcd-endpoints', 'localhost:2379');
  assert.equal(bad.code, 1);
  assert.match(
    bad.stderr,
    /etcd endpoint "localhost:2379" must be http:\/\/HOST:PORT.*\[ROAM_NAMES_CONFIG\]/,
  );

  const both = await roam(
    'names',
    'serve',
    '--store',
    'etcd',
    '--db',
    'x.db',
    '--etcd-endpoints',
    'http://127.0.0.1:1',
  );
  assert.equal(both.code, 1);
  assert.match(both.stderr, /--db is for --store sqlite.*\[ROAM_NAMES_CONFIG\]/);

  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise((resolve) => s.close(resolve));
  const down = await roam(
    'names',
    'serve',
    '--port',
    '0',
    '--store',
    'etcd',
    '--etcd-endpoints',
    `http://127.0.0.1:${port}`,
    '--etcd-timeout',
    '500',
  );
  assert.equal(down.code, 1);
  assert.match(
    down.stderr,
    new RegExp(
      `etcd at http://127\\.0\\.0\\.1:${port}\\) did not answer within 500 ms \\(open\\).*\\[ROAM_NAMES_STORE_UNAVAILABLE\\]`,
    ),
  );
});
