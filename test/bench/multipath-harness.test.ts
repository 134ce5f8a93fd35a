// The multipath benchmarks' lab and workers do what their reports claim: congestion control is
// the one named, a TCP download bound to a path's address uses that path alone, and an MPTCP
// download (the worker under `mptcpize run`) really spreads over both paths, intact.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { type Contender, startServer, timedDownloads } from '../../bench/multipath/contenders.js';
import {
  congestionControl,
  downloadShares,
  HOSTS,
  MultipathLab,
  multipathTopology,
  SETTING_1,
  SETTING_2,
} from '../../bench/multipath/lab.js';
import { run } from '../../src/lab/system/run.js';
import { loadTopology } from '../../src/lab/topology/load.js';
import { packageRoot } from '../../src/package-root.js';
import { join } from 'node:path';
import { assertLabGone, labSkipReason } from '../lab/lab-support.js';

const ALLOWED = '/proc/sys/net/ipv4/tcp_allowed_congestion_control';

async function mptcpizeMissing(): Promise<string | undefined> {
  const r = await run(['sh', '-c', 'command -v mptcpize'], { mayFail: true });
  return r.code === 0 ? undefined : 'mptcpize is not installed (Debian package mptcpd)';
}

test(
  'multipath bench lab: cubic everywhere, TCP pinned to its path, MPTCP over both paths, intact',
  { skip: labSkipReason() ?? (await mptcpizeMissing()), timeout: 240_000 },
  async () => {
    const allowedBefore = readFileSync(ALLOWED, 'utf8');
    const mp = await MultipathLab.up('harness-test', SETTING_1);
    const tcp: Contender = { name: 'TCP pb', transport: 'tcp', path: 1 };
    const mptcp: Contender = { name: 'MPTCP', transport: 'mptcp' };
    const servers = [];
    try {
      for (const host of HOSTS) {
        const { stdout } = await mp.lab.exec(host, [
          'sysctl',
          '-n',
          'net.ipv4.tcp_congestion_control',
        ]);
        assert.equal(stdout.trim(), congestionControl(), `${host}'s congestion control`);
      }
      servers.push(await startServer(mp, tcp, 7901), await startServer(mp, mptcp, 7902));

      let before = await mp.pathBytes();
      const plain = await timedDownloads(mp, tcp, 7901, [1 << 20], 1, 60_000);
      assert.deepEqual(
        plain.map((t) => [t.size, t.ok]),
        [[1 << 20, true]],
      );
      const tcpShares = downloadShares(before, await mp.pathBytes());
      assert.ok(
        (tcpShares.pb ?? 0) > 0.99,
        `TCP bound to pb used pb: ${JSON.stringify(tcpShares)}`,
      );

      await mp.mptcpEndpoints([1]);
      const joins = async () => (await mp.mptcpCounters('client')).MPTcpExtMPJoinSynAckRx ?? 0;
      const joinsBefore = await joins();
      before = await mp.pathBytes();
      const multi = await timedDownloads(mp, mptcp, 7902, [6 << 20], 1, 90_000);
      assert.deepEqual(
        multi.map((t) => [t.size, t.ok]),
        [[6 << 20, true]],
      );
      const shares = downloadShares(before, await mp.pathBytes());
      assert.ok(
        (shares.pa ?? 0) > 0.05 && (shares.pb ?? 0) > 0.05,
        `both paths: ${JSON.stringify(shares)}`,
      );
      assert.ok((await joins()) > joinsBefore, 'an MPTCP subflow joined');
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
      await mp.down();
    }
    assertLabGone(mp.lab.id);
    assert.equal(
      readFileSync(ALLOWED, 'utf8'),
      allowedBefore,
      'allowed congestion controls restored',
    );
  },
);

test("the shipped multipath-bench topology is the benchmarks' setting 2", () => {
  const shipped = loadTopology(
    join(packageRoot(), 'examples', 'topologies', 'multipath-bench.yaml'),
  );
  const built = multipathTopology('multipath-bench', SETTING_2);
  const view = (t: typeof built) =>
    t.links.map((l) => ({
      name: l.name,
      a: [l.a.host, l.a.ip, l.a.gateway],
      b: [l.b.host, l.b.ip],
      rate: [l.up.rateBps, l.down.rateBps],
      delay: [l.up.delayMs, l.down.delayMs],
      queue: l.queuePackets,
    }));
  assert.deepEqual(view(shipped), view(built));
});
