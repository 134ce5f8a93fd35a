// Every benchmark's --help lists every BENCH_* variable its source (and the bench/ modules it
// imports) mentions, exits 0, and does so quickly without root: run as nobody when we are root.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { packageRoot } from '../../src/package-root.js';
import { sourceOf, undeclared, variablesInSource } from './help-coverage.js';

const root = packageRoot();
const benchDir = join(root, 'bench');
const NOT_BENCHMARKS = new Set(['run', 'report']);
const benchmarks = readdirSync(benchDir)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3))
  .filter((b) => !NOT_BENCHMARKS.has(b))
  .sort();

/** As nobody when we are root: --help must need no privilege (no lab, no namespaces). */
const unprivileged = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};

function run(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, args, {
    encoding: 'utf8',
    timeout: 20_000,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    ...unprivileged,
  });
}
const RUN = join(root, 'dist', 'bench', 'run.js');
const FIXTURE_SRC = join(root, 'test', 'bench', 'fixtures', 'undeclared');
const FIXTURE = join(root, 'dist', 'test', 'bench', 'fixtures', 'undeclared', 'bench.js');

test('the benchmarks are all there (the list is not empty by mistake)', () => {
  for (const b of ['migration-time', 'session-overhead', 'multipath-vs-mptcp'])
    assert.ok(benchmarks.includes(b), b);
});

for (const name of benchmarks) {
  test(`${name} --help lists every BENCH_* variable its source reads, exits 0, no root`, () => {
    const r = run([RUN, name, '--help']);
    assert.equal(r.status, 0, `exit ${r.status} ${r.signal ?? ''}: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^${name}: `));
    const source = sourceOf(benchDir, name);
    assert.ok(variablesInSource(source, benchDir).size > 0, 'its source reads no BENCH_*');
    assert.deepEqual(undeclared(source, benchDir, r.stdout), []);
  });
}

test('npm run bench with no name lists the benchmarks', () => {
  const r = run([RUN]);
  assert.equal(r.status, 0, r.stderr);
  for (const b of benchmarks) assert.match(r.stdout, new RegExp(`^  ${b}$`, 'm'));
});

test('a benchmark that reads a variable it does not declare fails the check', () => {
  const r = run([FIXTURE, '--help']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /BENCH_FIXTURE_DECLARED/);
  assert.match(r.stdout, /BENCH_FIXTURE_SHARED/);
  assert.deepEqual(undeclared(join(FIXTURE_SRC, 'bench.ts'), FIXTURE_SRC, r.stdout), [
    'BENCH_FIXTURE_HIDDEN (shared.ts)',
    'BENCH_FIXTURE_UNDECLARED (bench.ts)',
  ]);
});

test('--help and a bad value both stop before the benchmark does any work', () => {
  const env = { BENCH_FIXTURE_DECLARED: 'not a number' };
  const withHelp = run([FIXTURE, '--help'], env);
  assert.equal(withHelp.status, 0, 'help works whatever the environment holds');
  assert.match(withHelp.stdout, /^fixture-undeclared: /);
  const bad = run([FIXTURE], env);
  assert.equal(bad.status, 2);
  assert.equal(
    bad.stderr,
    'fixture-undeclared: BENCH_FIXTURE_DECLARED must be a number; got "not a number" (--help lists the options)\n',
  );
  assert.equal(bad.stdout, '', "the fixture's own output never comes");
  const good = run([FIXTURE], { BENCH_FIXTURE_DECLARED: '3' });
  assert.equal(good.status, 0, good.stderr);
  assert.equal(good.stdout, '3 undefined undefined\n');
});
