import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { Pinger } from '../../src/demo/pinger.js';
import { startDemoServer } from '../../src/demo/transfer.js';
import { EmulatedLink } from '../../src/lab/emulated-link/index.js';

// Issue 18, point 14: `roam demo --network inprocess` showed "path RTT none for 7.1 s" on
// Wi-Fi after it recovered: the ping lost in the stall was waited for for ever (an in-process
// link drops it for good). The pinger now takes an unanswered ping as lost and pings again
// on a new connection, so RTTs come back with the path.

test('the demo pinger reports RTTs again after a stalled path recovers', async (t) => {
  const server = await startDemoServer({ host: '127.0.0.1', seed: 'pinger', size: 1 });
  const link = await EmulatedLink.start({
    name: 'wifi',
    delayMs: 10,
    rateBitsPerSec: 20e6,
    target: { host: '127.0.0.1', port: server.echoPort },
  });
  const pinger = new Pinger({
    host: '127.0.0.1',
    port: link.address.port,
    intervalMs: 50,
    timeoutMs: 300,
  });
  t.after(async () => {
    pinger.stop();
    await link.close();
    await server.close();
  });
  const bounded = { signal: AbortSignal.timeout(10_000) };
  const [before] = (await once(pinger, 'rtt', bounded)) as [number];
  assert.ok(before >= 20, `RTT ${before} ms over a link of 10 ms each way`);

  link.stall();
  await once(link, 'drop', bounded); // a ping lost in the stall
  await once(link, 'connection', bounded); // the pinger gave up on it and connected again
  link.resume();
  const [after] = (await once(pinger, 'rtt', bounded)) as [number];
  assert.ok(after >= 20, `RTT ${after} ms after the stall`);
});
