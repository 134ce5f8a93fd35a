import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseTopology } from '../../src/lab/topology/load.js';
import { labSkipReason, withLab } from '../lab/lab-support.js';
import { Probe } from '../lab/probe.js';

// Two real paths between two hosts, each host with two interfaces:
//
//   client 10.1.0.2 ── wifi (20 Mbit/s, 10 ms each way) ── 10.1.0.1 server
//   client 10.2.0.2 ── cell ( 8 Mbit/s, 40 ms each way) ── 10.2.0.1 server
//
// The client binds a flowpath to each local address (localAddresses); the server listens on
// every address and advertises its second one. Bytes end to end are checked (SHA-256), and
// each local address must have carried part of the download.

const PEER = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'mp-peer.js');
const SIZE = 8 * 1024 * 1024;
const skip = labSkipReason();

const topology = () =>
  parseTopology({
    name: 'twopaths',
    hosts: { client: {}, server: {} },
    links: [
      {
        name: 'wifi',
        a: { host: 'client', ip: '10.1.0.2/24', kind: 'wifi' },
        b: { host: 'server', ip: '10.1.0.1/24' },
        rate: '20mbit',
        delay: '10ms',
      },
      {
        name: 'cell',
        a: { host: 'client', ip: '10.2.0.2/24', kind: 'cellular' },
        b: { host: 'server', ip: '10.2.0.1/24' },
        rate: '8mbit',
        delay: '40ms',
      },
    ],
  });

describe('multipath over two real interfaces', { skip }, () => {
  for (const fault of [undefined, 'down'] as const) {
    test(`a download uses both local addresses${fault ? ', and survives the cellular link going down' : ''}`, async () => {
      await withLab(topology(), async (lab) => {
        const server = new Probe(
          lab,
          'server',
          ['serve', '7500', String(SIZE), '10.2.0.1:7500'],
          PEER,
        );
        let client: Probe | undefined;
        try {
          await server.waitFor((e) => e.event === 'listening');
          client = new Probe(
            lab,
            'client',
            ['fetch', '10.1.0.1', '7500', String(SIZE), '10.1.0.2', '10.2.0.2'],
            PEER,
          );
          await client.waitFor(
            (e) => e.event === 'progress' && (e.bytes as number) > SIZE / 3,
            30_000,
            'a third of the download',
          );
          if (fault) await lab.fault('cell', fault);
          const [done, sent] = await Promise.all([
            client.waitFor((e) => e.event === 'done' || e.event === 'error', 90_000, 'done'),
            server.waitFor((e) => e.event === 'sent' || e.event === 'error', 90_000, 'sent'),
          ]);
          assert.equal(done.event, 'done', JSON.stringify(done));
          assert.deepEqual(done.received, { length: SIZE, sha256: sent.sent });
          const perLocal = done.perLocal as Record<string, number>;
          assert.ok(
            (perLocal['10.1.0.2'] ?? 0) > 0,
            `wifi carried nothing: ${JSON.stringify(perLocal)}`,
          );
          assert.ok(
            (perLocal['10.2.0.2'] ?? 0) > 0,
            `cell carried nothing: ${JSON.stringify(perLocal)}`,
          );
        } finally {
          await Promise.all([client?.stop(), server.stop()]);
        }
      });
    });
  }
});
