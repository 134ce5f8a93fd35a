import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import * as root from '../../src/index.js';
import { loadTopology, parseTopology } from '../../src/lab/topology/load.js';
import { packageRoot } from '../../src/package-root.js';

// Issue 18, point 13: the docs say what the code does.

const doc = (name: string) => readFileSync(join(packageRoot(), 'docs', name), 'utf8');

test("lab.md's two-paths example is the shipped file", () => {
  const text = doc('lab.md');
  const start = text.indexOf('The shipped example, `examples/topologies/two-paths.yaml`');
  assert.ok(start >= 0);
  const block = /```yaml\n([\s\S]*?)```/.exec(text.slice(start))?.[1];
  assert.ok(block);
  const file = join(packageRoot(), 'examples', 'topologies', 'two-paths.yaml');
  assert.equal(block, readFileSync(file, 'utf8'));
  assert.deepEqual(parseTopology(parseYaml(block), 'lab.md', dirname(file)), loadTopology(file));
});

test("lab.md's `trace` link field is accepted on a link (both directions) and per direction", () => {
  assert.match(
    doc('lab.md'),
    /\| `trace` +\| a bandwidth trace for both directions \(or per direction under `up`\/`down`\)/,
  );
  const t = parseTopology({
    hosts: { a: {}, b: {} },
    links: [
      {
        name: 'l',
        a: { host: 'a', ip: '10.0.0.1/24' },
        b: { host: 'b', ip: '10.0.0.2/24' },
        trace: 'lte-steady',
        down: { trace: 'outages' },
      },
    ],
  });
  const traces = join(packageRoot(), 'traces');
  assert.equal(t.links[0]?.up.trace, join(traces, 'lte-steady.trace'));
  assert.equal(t.links[0]?.down.trace, join(traces, 'outages.trace'));
});

test('names-api.md imports NamesClient from the package root, which exports it', () => {
  assert.match(doc('names-api.md'), /^import \{ NamesClient \} from 'roam';$/m);
  assert.doesNotMatch(doc('names-api.md'), /not yet re-exported/);
  assert.equal(typeof root.NamesClient, 'function');
});

test('--json is in the help of the subcommands that take it', () => {
  const cli = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');
  for (const path of [
    ['lab', 'status'],
    ['lab', 'validate'],
    ['names', 'resolve'],
    ['gateway', 'status'],
    ['demo'],
  ]) {
    const help = execFileSync(process.execPath, [cli, ...path, '--help'], { encoding: 'utf8' });
    assert.match(
      help,
      /^ {2}--json +print machine-readable JSON instead of text$/m,
      path.join(' '),
    );
  }
  const exec = execFileSync(process.execPath, [cli, 'lab', 'exec', '--help'], { encoding: 'utf8' });
  assert.doesNotMatch(exec, /--json/);
});
