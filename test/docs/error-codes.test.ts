// Every error code a user can meet is in the catalogue (src/errors.ts) and documented in
// docs/errors.md; the catalogue lists nothing that src/ no longer uses.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ENVIRONMENT_NAMES, ERROR_CODES } from '../../src/errors.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Every quoted ROAM_… string in the TypeScript under src/, but the catalogue's own file. */
function codesUsedIn(dir: string): Set<string> {
  const used = new Set<string>();
  for (const file of sources(dir)) {
    if (file.endsWith(join('src', 'errors.ts'))) continue;
    for (const m of readFileSync(file, 'utf8').matchAll(/['"`](ROAM_[A-Z0-9_]+)['"`]/g))
      if (m[1]) used.add(m[1]);
  }
  return used;
}

/** The codes documented in a page: each in backticks in the first column of a table row. */
export function documentedCodes(markdown: string): Set<string> {
  const out = new Set<string>();
  for (const m of markdown.matchAll(/^\| `(ROAM_[A-Z0-9_]+)` +\|/gm)) if (m[1]) out.add(m[1]);
  return out;
}

test('every code used in src/ is in the catalogue, and the catalogue lists only used codes', () => {
  const used = codesUsedIn(join(root, 'src'));
  const settings = new Set<string>(ENVIRONMENT_NAMES);
  const catalogue = new Set<string>(ERROR_CODES);
  const missing = [...used].filter((c) => !catalogue.has(c) && !settings.has(c));
  assert.deepEqual(missing, [], `used in src/ but not in src/errors.ts: ${missing.join(', ')}`);
  const unused = [...catalogue].filter((c) => !used.has(c));
  assert.deepEqual(unused, [], `in src/errors.ts but used nowhere: ${unused.join(', ')}`);
});

test('every code of the catalogue is documented in docs/errors.md', () => {
  const documented = documentedCodes(readFileSync(join(root, 'docs', 'errors.md'), 'utf8'));
  const undocumented = ERROR_CODES.filter((c) => !documented.has(c));
  assert.deepEqual(undocumented, [], `not in docs/errors.md: ${undocumented.join(', ')}`);
  const stray = [...documented].filter((c) => !(ERROR_CODES as readonly string[]).includes(c));
  assert.deepEqual(stray, [], `documented but not in the catalogue: ${stray.join(', ')}`);
});

test('the check has teeth: a page without a code is found wanting', () => {
  const page = readFileSync(join(root, 'docs', 'errors.md'), 'utf8').replace(
    /`ROAM_REPLAY`( +)\|/,
    'ROAM_REPLAY$1|',
  );
  assert.equal(
    documentedCodes(readFileSync(join(root, 'docs', 'errors.md'), 'utf8')).has('ROAM_REPLAY'),
    true,
  );
  assert.equal(documentedCodes(page).has('ROAM_REPLAY'), false);
});
