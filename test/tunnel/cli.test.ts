import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { keyPairFromPrivate, parseKey } from '../../src/tunnel/keys.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');

function roam(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('roam tunnel CLI (no root needed)', () => {
  test('keygen prints a key pair whose public key follows from the private one', async () => {
    const r = await roam(['tunnel', 'keygen']);
    assert.equal(r.code, 0);
    const priv = /^private (\S+)$/m.exec(r.stdout)?.[1] ?? '';
    const pub = /^public (\S+)$/m.exec(r.stdout)?.[1] ?? '';
    assert.deepEqual(keyPairFromPrivate(parseKey(priv, 'p')).publicKey, parseKey(pub, 'q'));
    const dir = mkdtempSync(join(tmpdir(), 'roam-tunnel-cli-'));
    try {
      writeFileSync(join(dir, 'k'), priv);
      const p = await roam(['tunnel', 'keygen', '--public-from', join(dir, 'k')]);
      assert.equal(p.stdout.trim(), pub);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('bad flags fail with one line and a stable code before anything is touched', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'roam-tunnel-cli-'));
    try {
      const key = join(dir, 'k');
      writeFileSync(key, 'not a key');
      const cases: [string[], string][] = [
        [
          [
            'tunnel',
            'up',
            '--key',
            join(dir, 'missing'),
            '--server',
            '10.0.0.1:1',
            '--server-key',
            'x',
            '--address',
            '10.99.0.2/24',
            '--uplink',
            'eth0',
          ],
          'ROAM_TUNNEL_KEY',
        ],
        [
          [
            'tunnel',
            'up',
            '--key',
            key,
            '--server',
            'nope',
            '--server-key',
            'x',
            '--address',
            '10.99.0.2/24',
            '--uplink',
            'eth0',
          ],
          'ROAM_BAD_INPUT',
        ],
        [
          [
            'tunnel',
            'up',
            '--key',
            key,
            '--server',
            '10.0.0.1:1',
            '--server-key',
            'x',
            '--address',
            '10.99.0.2',
            '--uplink',
            'eth0',
          ],
          'ROAM_BAD_INPUT',
        ],
        [
          [
            'tunnel',
            'up',
            '--key',
            key,
            '--server',
            '10.0.0.1:1',
            '--server-key',
            'x',
            '--address',
            '10.99.0.2/24',
          ],
          'ROAM_BAD_INPUT',
        ],
        [
          [
            'tunnel',
            'serve',
            '--key',
            key,
            '--listen',
            '0.0.0.0:70000',
            '--address',
            '10.99.0.1/24',
            '--peer',
            'k=10.99.0.2',
          ],
          'ROAM_BAD_INPUT',
        ],
      ];
      for (const [args, code] of cases) {
        const r = await roam(args);
        assert.equal(r.code, 1, args.join(' '));
        assert.match(r.stderr, new RegExp(`^roam: .*\\[${code}\\]\\n$`), r.stderr);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
