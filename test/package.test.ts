import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import * as roam from '../src/index.js';

test('the package root exports the session API, used as with net', async (t) => {
  for (const name of [
    'connect',
    'createServer',
    'Lab',
    'EmulatedLink',
    'NamesClient',
    'RoamError',
    'publishServerName',
    'watchAddresses',
    'NamePublisher',
  ] as const) {
    assert.equal(typeof roam[name], 'function', name);
  }
  const server = roam.createServer({}, (s) => s.pipe(s));
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => server.close());
  const session = roam.connect({ host: '127.0.0.1', port });
  session.end('ping');
  const [data] = (await once(session, 'data')) as [Buffer];
  assert.equal(data.toString(), 'ping');
});
