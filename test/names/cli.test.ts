import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
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

/** `roam names serve --port 0`: waits for its `listening URL` line; stopped with the test. */
async function serve(t: TestContext, db: string, ...extra: string[]): Promise<string> {
  const child = spawn(
    process.execPath,
    [CLI, 'names', 'serve', '--port', '0', '--db', db, ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.after(async () => {
    child.kill('SIGTERM');
    assert.equal(await exited, 0, 'the server exits cleanly on SIGTERM');
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /^listening (http:\/\/127\.0\.0\.1:\d+)\n/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    void exited.then((code) =>
      reject(new Error(`serve exited (${code}) before listening: ${err}`)),
    );
  });
}

test('roam names: serve on port 0, keygen, publish, resolve, list-devices, clear errors', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'roam-names-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const url = await serve(t, join(dir, 'names.db'));
  const bobKey = join(dir, 'bob.pem');
  const laptopKey = join(dir, 'laptop.pem');

  const kg = await roam('names', 'keygen', bobKey, '--json');
  assert.equal(kg.code, 0, kg.stderr);
  const bobPublic = (JSON.parse(kg.stdout) as { publicKey: string }).publicKey;
  assert.match(bobPublic, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(statSync(bobKey).mode & 0o777, 0o600);
  assert.equal((await roam('names', 'keygen', laptopKey)).code, 0);
  const again = await roam('names', 'keygen', bobKey);
  assert.equal(again.code, 1);
  assert.match(
    again.stderr,
    /^roam: .*bob\.pem already exists; keygen never overwrites a key .*\[ROAM_NAMES_KEY_FILE\]\n$/,
  );

  const pub = await roam(
    'names',
    'publish',
    'bob@example.com',
    '--key',
    bobKey,
    '--server',
    url,
    '--attr',
    'display=Bob',
  );
  assert.equal(pub.code, 0, pub.stderr);
  assert.match(pub.stdout, /^published bob@example\.com version \d+ \(revision 1\)\n$/);
  const dev = await roam(
    'names',
    'publish',
    'laptop.bob@example.com',
    '--key',
    laptopKey,
    '--user-key',
    bobKey,
    '--server',
    url,
    '--addr',
    '192.0.2.7:4000,wifi,10',
    '--addr',
    '[2001:db8::7]:4000,cellular,20',
    '--control',
    '192.0.2.7:4001',
    '--relay',
    'relay.example.com:443',
  );
  assert.equal(dev.code, 0, dev.stderr);

  const res = await roam('names', 'resolve', 'laptop.bob@example.com', '--server', url);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /^laptop\.bob@example\.com \(device\) version \d+, expires /);
  assert.ok(
    res.stdout.includes(
      [
        '  address 192.0.2.7:4000 wifi priority 10',
        '  address [2001:db8::7]:4000 cellular priority 20',
        '  control 192.0.2.7:4001',
        '  relay relay.example.com:443',
      ].join('\n'),
    ),
    res.stdout,
  );
  const json = await roam('names', 'resolve', 'bob@example.com', '--server', url, '--json');
  const record = JSON.parse(json.stdout) as { key: string; attributes: Record<string, string> };
  assert.equal(record.key, bobPublic);
  assert.deepEqual(record.attributes, { display: 'Bob' });
  const list = await roam('names', 'list-devices', 'bob@example.com', '--server', url);
  assert.equal(list.stdout, 'laptop.bob@example.com offline\n');

  const errors: [string[], RegExp][] = [
    [
      ['names', 'publish', 'bob@example.com', '--key', laptopKey, '--server', url],
      /belongs to another key.*\[ROAM_NAMES_WRONG_KEY\]/,
    ],
    [
      ['names', 'resolve', 'nobody@example.com', '--server', url],
      /nobody@example\.com is not registered \[ROAM_NAMES_NOT_FOUND\]/,
    ],
    [
      ['names', 'resolve', 'bob@example.com', '--server', 'http://127.0.0.1:1'],
      /cannot reach the name server at http:\/\/127\.0\.0\.1:1.*\[ROAM_NAMES_UNREACHABLE\]/,
    ],
    [
      ['names', 'publish', 'x@example.com', '--key', join(dir, 'missing.pem'), '--server', url],
      /cannot read key file .*\[ROAM_NAMES_KEY_FILE\]/,
    ],
    [
      [
        'names',
        'publish',
        'bob@example.com',
        '--key',
        bobKey,
        '--addr',
        '192.0.2.7',
        '--server',
        url,
      ],
      /is not HOST:PORT.*\[ROAM_NAMES_INVALID\]/,
    ],
  ];
  for (const [args, why] of errors) {
    const r = await roam(...args);
    assert.equal(r.code, 1, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, why);
  }
});

test('roam names serve refuses a database another server holds, in one line', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'roam-names-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = join(dir, 'names.db');
  await serve(t, db);
  const second = await roam('names', 'serve', '--port', '0', '--db', db);
  assert.equal(second.code, 1);
  assert.match(
    second.stderr,
    /^roam: .*names\.db is in use by another name server.*\[ROAM_NAMES_DB_LOCKED\]\n$/,
  );
});

test('roam names serve --fsync: on a SQLite file it serves; with no disk to sync it is refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'roam-names-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const url = await serve(t, join(dir, 'names.db'), '--fsync');
  const health = await fetch(`${url}/v1/health`);
  assert.equal(health.status, 200);
  assert.equal(((await health.json()) as { ok: boolean }).ok, true);
  const memory = await roam('names', 'serve', '--port', '0', '--db', ':memory:', '--fsync');
  assert.equal(memory.code, 1);
  assert.match(memory.stderr, /--fsync is for a SQLite file.*\[ROAM_NAMES_CONFIG\]/);
});
