import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { isRoot } from '../../src/lab/lab.js';
import { packageRoot } from '../../src/package-root.js';
import { runDoc } from './doctest/run.js';

// Issue 18: every runnable block of README.md and docs/ runs here (see doctest/blocks.ts for
// the fence convention), and a broken one fails the test: shown with fixtures.

const root = isRoot();
const FIXTURES = join(packageRoot(), 'test', 'cli', 'fixtures');

describe('doc-tests: the runner', () => {
  test('a document whose blocks work passes; no-run blocks are not run', async () => {
    assert.deepEqual(await runDoc(join(FIXTURES, 'doc-ok.md'), { root }), {
      blocks: 3,
      skipped: 0,
    });
  });

  test('a failing command fails, naming the block', async () => {
    await assert.rejects(runDoc(join(FIXTURES, 'doc-broken-sh.md'), { root }), (e: Error) =>
      e.message.startsWith(
        'test/cli/fixtures/doc-broken-sh.md:3: the block failed (exit 1): roam: cannot read topology file examples/topologies/nosuch.yaml',
      ),
    );
  });

  test('a TypeScript block that does not compile fails, naming its line', async () => {
    await assert.rejects(runDoc(join(FIXTURES, 'doc-broken-ts.md'), { root }), (e: Error) =>
      e.message.startsWith(
        'test/cli/fixtures/doc-broken-ts.md:6: the TypeScript block does not compile: ',
      ),
    );
  });

  test('output other than the one shown fails', async () => {
    await assert.rejects(
      runDoc(join(FIXTURES, 'doc-wrong-output.md'), { root }),
      (e: Error) =>
        e.message ===
        'test/cli/fixtures/doc-wrong-output.md:3: `roam lab validate examples/topologies/two-paths.yaml` printed "examples/topologies/two-paths.yaml: ok (3 hosts, 3 links, 3 scheduled faults)", the document shows "examples/topologies/two-paths.yaml: ok (2 hosts)"',
    );
  });
});

describe('doc-tests: README.md and docs/', () => {
  const docs = [
    'README.md',
    ...readdirSync(join(packageRoot(), 'docs'))
      .filter((f) => f.endsWith('.md'))
      .sort()
      .map((f) => `docs/${f}`),
  ];
  for (const doc of docs) {
    test(doc, async (t) => {
      const r = await runDoc(doc, { root });
      if (r.skipped) t.skip(`${r.skipped} blocks need root (the lab); CI runs them as root`);
    });
  }
});
