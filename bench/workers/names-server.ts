// A name server on etcd in its own process, for bench/names (two servers, each with a core
// of its own) and bench/names-scale:
//   node names-server.js '{"endpoints":[...],"prefix":"...","changeFeed":true}'
// prints {"url":...} once listening; then each stdin line "cpu" is answered with
// {"cpuUs":N,"batches":B,"bytes":Y} (this process's user + system time so far, and the
// presence batches it wrote to etcd), and "stop" closes and exits.
import { createInterface } from 'node:readline';
import { startNamesServer } from '../../src/names/http/server.js';
import { NameService } from '../../src/names/service.js';
import { EtcdStore } from '../../src/names/store/etcd/etcd-store.js';

export interface ServerConfig {
  endpoints: string[];
  prefix: string;
  changeFeed: boolean;
  offlineAfterMs?: number;
  presenceEntries?: number;
  /** How often presence batches are written (default 5000 ms). */
  presenceIntervalMs?: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as ServerConfig;
const UNLIMITED = { perSecond: 1e9, burst: 1e9 };
const published = { batches: 0, bytes: 0 };
const store = await EtcdStore.open({
  endpoints: config.endpoints,
  prefix: config.prefix,
  changeFeed: config.changeFeed,
});
const service = new NameService(store, {
  presence: {
    ...(config.offlineAfterMs ? { offlineAfterMs: config.offlineAfterMs } : {}),
    ...(config.presenceEntries ? { maxEntries: config.presenceEntries } : {}),
  },
  lookupCacheEntries: 100_000,
  presenceBatch: {
    ...(config.presenceIntervalMs ? { intervalMs: config.presenceIntervalMs } : {}),
    onPublish: (round) => {
      published.batches += round.batches;
      published.bytes += round.bytes;
    },
  },
});
const server = await startNamesServer(service, {
  port: 0,
  readRate: UNLIMITED,
  writeRatePerSource: UNLIMITED,
  writeRatePerKey: UNLIMITED,
});
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line === 'cpu') {
    const cpu = process.cpuUsage();
    process.stdout.write(`${JSON.stringify({ cpuUs: cpu.user + cpu.system, ...published })}\n`);
  } else if (line === 'stop') break;
}
lines.close();
await server.close();
await store.close();
