// A non-roam peer (issue 18, point 9): the cause at once, not a handshake failure after retries.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as httpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { isRoamError } from '../../src/errors.js';
import { connect } from '../../src/session/index.js';

test('connecting to an HTTP server gives ROAM_NOT_ROAM with what the server said, without retrying', async (t) => {
  let requests = 0;
  const http = httpServer(() => undefined);
  http.on('connection', () => requests++);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  t.after(() => http.close());
  const { port } = http.address() as AddressInfo;
  const client = connect({ host: '127.0.0.1', port, retryIntervalMs: 10, connectTimeoutMs: 5000 });
  const [err] = (await once(client, 'error')) as [Error];
  assert.ok(isRoamError(err, 'ROAM_NOT_ROAM'), String(err));
  assert.equal(
    err.message,
    `127.0.0.1:${port} is not a roam server: unknown frame type 0x48; it sent "HTTP/1.1 400 Bad Request"`,
  );
  assert.equal(requests, 1);
});
