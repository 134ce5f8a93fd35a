// The application's code is never swallowed (issue 10 item 9, issue 18 point 10): a throw
// in a listener reaches process 'uncaughtException' as with net, and the library writes
// nothing to stderr unless asked. Each case runs in a child process of its own.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const roam = fileURLToPath(new URL('../../src/index.js', import.meta.url));

function run(script: string, env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 20_000,
    env: { ...process.env, ROAM_LOG_LEVEL: '', ...env },
  });
  return { status: result.status, stdout: result.stdout.trim(), stderr: result.stderr.trim() };
}

const uncaught = `
process.on('uncaughtException', (err, origin) => {
  console.log(origin + ': ' + err.message);
  process.exit(0);
});
setTimeout(() => { console.log('swallowed'); process.exit(1); }, 10000).unref();
`;

test("a throw in createServer's onSession listener reaches process.on('uncaughtException')", () => {
  const r = run(`
import { connect, createServer } from ${JSON.stringify(roam)};
${uncaught}
const server = createServer({}, () => { throw new Error('mine, from onSession'); });
const { port } = await server.listen({ host: '127.0.0.1' });
connect({ host: '127.0.0.1', port }).on('error', () => undefined);
`);
  assert.equal(r.stdout, 'uncaughtException: mine, from onSession');
  assert.equal(r.status, 0);
});

test("a throw in a session's 'data' and 'connect' listeners reaches the process, not the protocol", () => {
  for (const event of ['data', 'connect']) {
    const r = run(`
import { connect, createServer } from ${JSON.stringify(roam)};
${uncaught}
const server = createServer({}, (s) => s.write('x'));
const { port } = await server.listen({ host: '127.0.0.1' });
const client = connect({ host: '127.0.0.1', port });
client.on(${JSON.stringify(event)}, () => { throw new Error('mine, from ${event}'); });
`);
    assert.equal(r.stdout, `uncaughtException: mine, from ${event}`);
  }
});

const chatty = `
import { connect } from ${JSON.stringify(roam)};
import { createServer } from 'node:net';
// A server that refuses every flowpath: the client logs a warning, then fails.
const plain = createServer((s) => s.destroy());
await new Promise((r) => plain.listen(0, '127.0.0.1', r));
const client = connect({ host: '127.0.0.1', port: plain.address().port, connectTimeoutMs: 300, retryIntervalMs: 50 });
client.on('error', (err) => { console.log(err.code); plain.close(); });
`;

test('the library is silent by default; ROAM_LOG_LEVEL or configureLogging turn its lines on', () => {
  const quiet = run(chatty);
  assert.equal(quiet.stdout, 'ROAM_HANDSHAKE_FAILED');
  assert.equal(quiet.stderr, '');
  const loud = run(chatty, { ROAM_LOG_LEVEL: 'debug' });
  assert.equal(loud.stdout, 'ROAM_HANDSHAKE_FAILED');
  assert.match(loud.stderr, /"msg":"first flowpath lost before WELCOME: trying again"/);
  const configured = run(
    chatty.replace('import { connect }', 'import { configureLogging, connect }') +
      "\nconfigureLogging({ level: 'debug' });",
  );
  assert.match(configured.stderr, /"level":20/);
});
