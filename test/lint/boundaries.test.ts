// `npm run lint` has teeth: the boundary checker (dependency-cruiser with the project's
// .dependency-cruiser.mjs) fails on a new import cycle and on a forbidden import. The
// fixture is a small tree written for this test, checked with the real config.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));

function cruise(files: Record<string, string>): { status: number | null; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'roam-lint-'));
  try {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    const r = spawnSync(
      join(root, 'node_modules', '.bin', 'depcruise'),
      ['src', '--config', join(root, '.dependency-cruiser.mjs'), '--output-type', 'err'],
      { cwd: dir, encoding: 'utf8' },
    );
    return { status: r.status, out: r.stdout + r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const clean = {
  'src/errors.ts': 'export class RoamError extends Error {}\n',
  'src/multipath/policy.ts':
    "import { RoamError } from '../errors.js';\nexport const p = RoamError;\n",
  'src/session/session.ts': "import { p } from '../multipath/policy.js';\nexport const s = p;\n",
};

test('the checker passes a tree that keeps the boundaries', () => {
  const r = cruise(clean);
  assert.equal(r.status, 0, r.out);
});

test('a forbidden import (multipath → session) fails lint and names the rule', () => {
  const r = cruise({
    ...clean,
    'src/multipath/sender.ts': "import { s } from '../session/session.js';\nexport const x = s;\n",
  });
  assert.notEqual(r.status, 0);
  assert.match(r.out, /multipath-imports: src\/multipath\/sender\.ts → src\/session\/session\.ts/);
});

test('an import cycle fails lint and names the cycle', () => {
  const r = cruise({
    ...clean,
    'src/session/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
    'src/session/b.ts': "import { a } from './a.js';\nexport const b = () => a;\n",
  });
  assert.notEqual(r.status, 0);
  assert.match(r.out, /error no-circular: src\/session\/(a|b)\.ts/);
});
