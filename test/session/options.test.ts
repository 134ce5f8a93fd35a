// One schema per input (issue 18, point 8): what connect(), createServer() and listen()
// refuse, each with one line naming the field, the rule and what was given.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { isRoamError } from '../../src/errors.js';
import {
  connect,
  createServer,
  type ConnectOptions,
  type ServerOptions,
} from '../../src/session/index.js';

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(isRoamError(err, 'ROAM_BAD_INPUT'), `not ROAM_BAD_INPUT: ${String(err)}`);
    return err.message;
  }
  assert.fail('accepted');
}

test('connect() with no argument is a ROAM_BAD_INPUT that says what it needs', () => {
  assert.equal(
    refusal(() => (connect as (o?: ConnectOptions) => unknown)()),
    'connect(): needs { host, port }, { name, names } or a resolve() hook, got nothing',
  );
});

test('an option of the wrong type says the type given; a misspelt one names the nearest', () => {
  assert.equal(
    refusal(() =>
      connect({ host: '127.0.0.1', port: 1, connectTimeoutMs: '1000' as unknown as number }),
    ),
    'connect(): connectTimeoutMs must be an integer 10..3600000 (ms), got string "1000"',
  );
  assert.equal(
    refusal(() =>
      connect({ host: '127.0.0.1', port: 1, connectTimeoutMS: 1000 } as ConnectOptions),
    ),
    'connect(): unknown option connectTimeoutMS (did you mean connectTimeoutMs?)',
  );
  assert.equal(
    refusal(() => connect({ host: '127.0.0.1', port: 70000 })),
    'connect(): port must be a port 1..65535 (a number or a string of digits), got 70000',
  );
  assert.equal(
    refusal(() =>
      connect({
        host: '127.0.0.1',
        port: 1,
        multipath: { policy: { prefr: [] } },
      } as ConnectOptions),
    ),
    'connect(): unknown option prefr in multipath.policy (did you mean prefer?)',
  );
});

test('createServer refuses maxSessions -1 or "ten" and handshakeTimeoutMs -1', () => {
  assert.equal(
    refusal(() => createServer({ maxSessions: -1 })),
    'createServer(): maxSessions must be an integer 1..10000000, got -1',
  );
  assert.equal(
    refusal(() => createServer({ maxSessions: 'ten' } as unknown as ServerOptions)),
    'createServer(): maxSessions must be an integer 1..10000000, got string "ten"',
  );
  assert.equal(
    refusal(() => createServer({ handshakeTimeoutMs: -1 })),
    'createServer(): handshakeTimeoutMs must be an integer 10..3600000 (ms), got -1',
  );
  assert.equal(
    refusal(() => createServer({ maxSesions: 5 } as ServerOptions)),
    'createServer(): unknown option maxSesions (did you mean maxSessions?)',
  );
});

test('listen: a bad port is ROAM_BAD_INPUT, a port in use ROAM_LISTEN_FAILED; string ports work as with net', async (t) => {
  const server = createServer({}, (s) => s.end('hi'));
  t.after(() => server.close());
  await assert.rejects(server.listen({ port: -1 }), (err: unknown) => {
    assert.ok(isRoamError(err, 'ROAM_BAD_INPUT'));
    assert.equal(
      err.message,
      'listen(): port must be a port 0..65535 (a number or a string of digits), got -1',
    );
    return true;
  });
  const { port } = await server.listen({ host: '127.0.0.1', port: '0' });
  const other = createServer();
  await assert.rejects(other.listen({ host: '127.0.0.1', port: String(port) }), (err: unknown) => {
    assert.ok(isRoamError(err, 'ROAM_LISTEN_FAILED'));
    assert.equal(err.message, `cannot listen at 127.0.0.1:${port}: EADDRINUSE`);
    return true;
  });
  const client = connect({ host: '127.0.0.1', port: String(port) });
  t.after(() => client.destroy());
  const chunks: Buffer[] = [];
  client.on('data', (c: Buffer) => chunks.push(c));
  await once(client, 'end');
  assert.equal(Buffer.concat(chunks).toString(), 'hi');
});
