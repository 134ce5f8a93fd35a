import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { MiB, openHandles, sha256, startGateway, startOrigin } from './helpers.js';

after(async () => assert.deepEqual(await openHandles(), [], 'handles left open'));

const body = randomBytes(20 * MiB);

function installed(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const clients: [string, (url: string, out: string) => string[]][] = [
  ['curl', (url, out) => ['-sS', '--noproxy', '*', '-o', out, url]],
  ['wget', (url, out) => ['-q', '--no-proxy', '-O', out, url]],
];

for (const [cmd, args] of clients) {
  const skip = installed(cmd) ? false : `${cmd} is not installed`;
  test(
    `${cmd}: 20 MB, uplink A fails after 5 MB, byte-exact, exit 0`,
    { skip, timeout: 60_000 },
    async (t) => {
      const origin = await startOrigin(t, {
        resource: () => ({ body, etag: '"v1"' }),
        stallAt: (r) => (r.index === 0 ? 5 * MiB : undefined),
      });
      const gw = await startGateway(t, origin);
      const dir = mkdtempSync(join(tmpdir(), 'roam-gw-'));
      t.after(() => rmSync(dir, { recursive: true, force: true }));
      const out = join(dir, 'file');
      const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir };
      const child = spawn(cmd, args(gw.url('/file'), out), {
        env,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const exited = once(child, 'exit');
      await origin.stall(0);
      gw.down.add('A');
      assert.equal(gw.engine.uplinkFailed('A'), 1);
      const [code] = (await exited) as [number | null];
      assert.equal(code, 0, `${cmd} failed: ${stderr}`);
      const got = readFileSync(out);
      assert.equal(got.length, body.length);
      assert.equal(sha256(got), sha256(body));
      const offset = gw.splices[0]?.offset ?? -1;
      t.diagnostic(`${cmd}: spliced at byte ${offset} on uplink ${gw.splices[0]?.uplink}`);
      assert.ok(offset > 0 && offset <= 5 * MiB, `spliced at ${offset}`);
      assert.equal(origin.requests[1]?.headers.range, `bytes=${offset}-`);
      assert.equal(origin.requests[1]?.headers['if-range'], '"v1"');
    },
  );
}
