import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect as netConnect } from 'node:net';
import { test } from 'node:test';
import { connect } from '../../src/session/client.js';
import type { Endpoint } from '../../src/session/options.js';
import type { Session } from '../../src/session/session.js';
import { readAll, sha256, startServer } from '../session/session-support.js';
import { fast } from './multipath-support.js';

// What makes a short transfer over several local addresses fast (issue 4, 64 KB and 1 MB
// rows): the other addresses' TCP connections open during the first handshake, and the
// server, told by HELLO that more flowpaths come, keeps the first answer's tail for them.

const locals = ['127.0.0.1', '127.0.0.2'];

test('a multi-homed client opens its other flowpaths during the first handshake, says so in HELLO, and the bytes arrive exact', async (t) => {
  const peers: Session[] = [];
  const answer = randomBytes(1024 * 1024 + 5);
  const { server, port } = await startServer((s) => {
    s.on('error', () => undefined);
    peers.push(s);
    s.once('data', () => s.end(answer));
  }, fast);
  t.after(() => server.close());
  // Records when each local address's TCP connection is asked for, against 'connect'.
  const opened: { local: string | undefined; beforeConnect: boolean }[] = [];
  let connected = false;
  const client = connect({
    host: '127.0.0.1',
    port,
    ...fast,
    localAddresses: locals,
    socketFactory: (to: Endpoint) => {
      opened.push({ local: to.localAddress, beforeConnect: !connected });
      return netConnect({ host: to.host, port: to.port, localAddress: to.localAddress });
    },
  });
  t.after(() => client.destroy());
  client.once('connect', () => (connected = true));
  const got = readAll(client);
  client.write('GET\n'); // early data: before 'connect'
  assert.deepEqual(await got, { length: answer.length, sha256: sha256(answer) });
  assert.deepEqual(
    opened.filter((o) => o.beforeConnect).map((o) => o.local),
    locals,
    'both local addresses were connecting before WELCOME',
  );
  assert.equal(peers.length, 1);
  assert.equal(peers[0]?.expectMultipath, true, 'HELLO told the server more flowpaths come');
  assert.equal(client.expectMultipath, true);
  // The pre-opened connection became the second flowpath.
  while (client.paths.filter((p) => p.state === 'open').length < 2) await once(client, 'path-up');
  assert.deepEqual(client.paths.map((p) => p.localAddress).sort(), locals);
  assert.equal(opened.length, 2, 'no connection opened twice');
});

test('a client with one local address does not say MULTIPATH: its server does not hold back', async (t) => {
  const peers: Session[] = [];
  const { server, port } = await startServer((s) => {
    s.on('error', () => undefined);
    peers.push(s);
    s.pipe(s);
  }, fast);
  t.after(() => server.close());
  const client = connect({ host: '127.0.0.1', port, ...fast });
  t.after(() => client.destroy());
  const got = readAll(client);
  const data = randomBytes(200_000);
  client.end(data);
  assert.deepEqual(await got, { length: data.length, sha256: sha256(data) });
  assert.equal(client.expectMultipath, false);
  assert.equal(peers[0]?.expectMultipath, false);
});
