import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { isRoamError } from '../../src/errors.js';
import { connect } from '../../src/session/index.js';
import type { Session } from '../../src/session/session.js';
import { readAll, sha256, startServer } from './session-support.js';
import { selfSignedCertificate } from './tls-credentials.js';

const fast = { keepaliveIntervalMs: 50, deadAfterMs: 400, retryIntervalMs: 50 };

const credentials = selfSignedCertificate();

test('TLS flowpaths: a pinned key, a forced migration, bytes exact', async (t) => {
  const sessions: Session[] = [];
  const { server, port } = await startServer(
    (s) => {
      sessions.push(s);
      s.on('error', () => undefined);
      s.pipe(s);
    },
    { ...fast, tls: { key: credentials.key, cert: credentials.cert } },
  );
  t.after(() => server.close());
  const client = connect({ host: '127.0.0.1', port, ...fast, tls: { pinnedKey: credentials.pin } });
  t.after(() => client.destroy());
  await once(client, 'connect');
  const data = Buffer.alloc(3 * 1024 * 1024, 9);
  const got = readAll(client);
  client.write(data.subarray(0, 1024 * 1024));
  const migrated = once(client, 'migrated');
  client.migrate();
  await migrated;
  client.end(data.subarray(1024 * 1024));
  assert.deepEqual(await got, { length: data.length, sha256: sha256(data) });
});

test('TLS: CA verification works, and a wrong pin or an untrusted certificate is refused', async (t) => {
  const { server, port } = await startServer((s) => s.on('error', () => undefined).pipe(s), {
    ...fast,
    tls: { key: credentials.key, cert: credentials.cert },
  });
  t.after(() => server.close());
  const trusted = connect({ host: '127.0.0.1', port, ...fast, tls: { ca: credentials.cert } });
  await once(trusted, 'connect');
  trusted.destroy();

  const pinned = connect({ host: '127.0.0.1', port, ...fast, tls: { pinnedKey: 'AAAA' } });
  const [pinErr] = (await once(pinned, 'error')) as [Error];
  assert.ok(isRoamError(pinErr, 'ROAM_TLS_PIN'), String(pinErr));

  const untrusted = connect({ host: '127.0.0.1', port, ...fast, tls: {} });
  const [caErr] = (await once(untrusted, 'error')) as [Error];
  assert.ok(isRoamError(caErr, 'ROAM_CONNECT_FAILED'), String(caErr));
  assert.match(caErr.message, /SELF_SIGNED|certificate/i);
});
