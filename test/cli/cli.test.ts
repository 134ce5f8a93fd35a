import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { packageRoot } from '../../src/package-root.js';
import { assertLabGone, labSkipReason } from '../lab/lab-support.js';

const CLI = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');

function roam(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('roam --help and roam <command> --help describe the commands', () => {
  const top = roam('--help');
  assert.equal(top.code, 0);
  for (const word of ['lab', 'demo', '--log-level', '--json'])
    assert.ok(top.stdout.includes(word), word);
  const fault = roam('lab', 'fault', '--help');
  assert.equal(fault.code, 0);
  assert.match(fault.stdout, /stall \| down \| up \| renumber/);
});

test('usage errors and failures are one line on stderr with a non-zero exit', () => {
  const unknown = roam('bogus');
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stderr.trim().split('\n').length, 1);
  assert.match(unknown.stderr, /^roam: unknown command 'bogus'/);

  const notUp = roam('lab', 'status', '--lab', 'rl000000');
  assert.equal(notUp.code, 1);
  assert.equal(notUp.stderr.trim().split('\n').length, 1);
  assert.match(notUp.stderr, /lab rl000000 is not up .*\[ROAM_LAB_NOT_UP\]/);

  const badLevel = roam('--log-level', 'loud', 'lab', 'validate', 'x');
  assert.equal(badLevel.code, 2);
  assert.match(badLevel.stderr, /loud/);
});

test('roam lab validate names the bad field, and prints JSON with --json', () => {
  const dir = mkdtempSync(join(tmpdir(), 'roam-cli-'));
  const bad = join(dir, 'bad.yaml');
  writeFileSync(
    bad,
    'hosts: { a: {}, b: {} }\nlinks:\n  - { name: l, a: { host: a, ip: 10.0.0.1/24 }, b: { host: b, ip: 10.0.0.2/24 }, delay: soon }\n',
  );
  const r = roam('lab', 'validate', bad);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /bad\.yaml: links\[0\]\.delay: duration "soon" is not understood/);
  const ok = roam(
    'lab',
    'validate',
    join(packageRoot(), 'examples', 'topologies', 'two-paths.yaml'),
    '--json',
  );
  assert.equal(ok.code, 0);
  const topo = JSON.parse(ok.stdout) as { links: { name: string }[] };
  assert.deepEqual(
    topo.links.map((l) => l.name),
    ['wifi', 'cell', 'srv'],
  );
});

describe('roam lab from the shell', { skip: labSkipReason() }, () => {
  test('up, status, exec, fault, down', () => {
    const up = roam('lab', 'up', join(packageRoot(), 'examples', 'topologies', 'two-paths.yaml'));
    assert.equal(up.code, 0, up.stderr);
    const id = up.stdout.trim();
    assert.match(id, /^rl[0-9a-f]{6}$/);
    try {
      const status = roam('lab', 'status', '--lab', id, '--json');
      assert.equal(status.code, 0, status.stderr);
      const s = JSON.parse(status.stdout) as {
        daemon: { alive: boolean };
        hosts: { name: string; interfaces: { ifname: string; addresses: string[] }[] }[];
      };
      assert.equal(s.daemon.alive, true);
      const client = s.hosts.find((h) => h.name === 'client');
      assert.deepEqual(client?.interfaces.map((i) => [i.ifname, i.addresses]).sort(), [
        ['cell', ['10.2.0.2/24']],
        ['wifi', ['10.1.0.2/24']],
      ]);
      const ping = roam(
        'lab',
        'exec',
        '--lab',
        id,
        'client',
        '--',
        'ping',
        '-c',
        '1',
        '-W',
        '2',
        '10.9.0.2',
      );
      assert.equal(ping.code, 0, ping.stderr);
      const failing = roam('lab', 'exec', '--lab', id, 'client', '--', 'sh', '-c', 'exit 3');
      assert.equal(failing.code, 3, 'exec passes the exit code through');
      const moved = roam('lab', 'fault', '--lab', id, 'cell', 'renumber');
      assert.equal(moved.code, 0, moved.stderr);
      assert.match(moved.stdout, /cell: renumber \(10\.2\.0\.2 → 10\.2\.0\.\d+\)/);
      const badFault = roam('lab', 'fault', '--lab', id, 'cell', 'loss', '7');
      assert.equal(badFault.code, 1);
      assert.match(badFault.stderr, /probability.*\[ROAM_BAD_INPUT\]/);
    } finally {
      const down = roam('lab', 'down', '--lab', id);
      assert.equal(down.code, 0, down.stderr);
    }
    assertLabGone(id);
  });
});
