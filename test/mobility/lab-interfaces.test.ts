import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Lab } from '../../src/lab/lab.js';
import { parseTopology } from '../../src/lab/topology/load.js';
import { labSkipReason, withLab } from '../lab/lab-support.js';
import { Probe, type ProbeEvent } from '../lab/probe.js';

// The mobility manager against real interface events in the lab:
//
//   client 10.1.0.2 ── wifi (20 Mbit/s, 10 ms each way) ──┐
//                                                          router ── srv ── server 10.9.0.2
//   client 10.2.0.2 ── cell ( 8 Mbit/s, 40 ms each way) ──┘
//
// Each client interface has a default route and a per-source table, so a flowpath bound to
// an address leaves through its interface. The client streams to the server and the server
// to the client until the test says finish; both directions must be byte-exact. Reaction
// times are measured from just before the command that changes the addresses to the
// client's report (absolute clocks: the same kernel clock in every namespace) and printed
// (docs/mobility.md has them against the goals: 1 s to carry data, 0.5 s to abandon).

const PEER = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'mobility-peer.js');
const skip = labSkipReason();
const abs = () => performance.timeOrigin + performance.now();

const topology = () =>
  parseTopology({
    name: 'mobility',
    hosts: { client: {}, router: { forward: true }, server: {} },
    links: [
      {
        name: 'wifi',
        a: { host: 'client', ip: '10.1.0.2/24', gateway: '10.1.0.1', kind: 'wifi' },
        b: { host: 'router', ip: '10.1.0.1/24' },
        rate: '20mbit',
        delay: '10ms',
      },
      {
        name: 'cell',
        a: { host: 'client', ip: '10.2.0.2/24', gateway: '10.2.0.1', kind: 'cellular' },
        b: { host: 'router', ip: '10.2.0.1/24' },
        rate: '8mbit',
        delay: '40ms',
      },
      {
        name: 'srv',
        a: { host: 'router', ip: '10.9.0.1/24' },
        b: { host: 'server', ip: '10.9.0.2/24', gateway: '10.9.0.1' },
      },
    ],
  });

interface Done extends ProbeEvent {
  sent: { length: number; sha256: string };
  received: { length: number; sha256: string };
  gaps: [number, number][];
}

/** The longest gap at a receiving application that overlaps [from, from + windowMs]. */
function longestGap(gaps: [number, number][], from: number, windowMs = 3000): number {
  return longestGapAt(gaps, from, windowMs).ms;
}

/** The same, with where it started, ms after `from`. */
function longestGapAt(
  gaps: [number, number][],
  from: number,
  windowMs = 3000,
): { ms: number; at: number } {
  let worst = { ms: 0, at: 0 };
  for (const [a, b] of gaps)
    if (b > from && a < from + windowMs && b - a > worst.ms) worst = { ms: b - a, at: a - from };
  return worst;
}

async function session(
  lab: Lab,
  watchMode: string,
  policy: object,
  during: (client: Probe) => Promise<void>,
  serverArgs: string[] = [],
) {
  const server = new Probe(lab, 'server', ['serve', '7600', ...serverArgs], PEER);
  let client: Probe | undefined;
  try {
    await server.waitFor((e) => e.event === 'listening');
    client = new Probe(
      lab,
      'client',
      ['fetch', '10.9.0.2', '7600', watchMode, JSON.stringify(policy), '100'],
      PEER,
    );
    await client.waitFor((e) => e.event === 'connected', 20_000, 'connected');
    await during(client);
    client.send(JSON.stringify({ cmd: 'finish' }));
    const [c, s] = (await Promise.all([
      client.waitFor((e) => e.event === 'done' || e.event === 'error', 60_000, 'client done'),
      server.waitFor((e) => e.event === 'done' || e.event === 'error', 60_000, 'server done'),
    ])) as Done[];
    assert.equal(c?.event, 'done', JSON.stringify(c));
    assert.equal(s?.event, 'done', JSON.stringify(s));
    assert.deepEqual(s?.received, c?.sent, 'client → server: length and SHA-256');
    assert.deepEqual(c?.received, s?.sent, 'server → client: length and SHA-256');
    assert.ok((c?.sent.length ?? 0) > 0);
    if (process.env.MOBILITY_DEBUG)
      for (const e of client.events)
        if (e.event !== 'progress' || process.env.MOBILITY_DEBUG === 'all')
          process.stdout.write(`# ${JSON.stringify(e).slice(0, 600)}\n`);
    return {
      client: c as Done,
      server: s as Done,
      events: client.events,
      serverEvents: server.events,
    };
  } finally {
    await Promise.all([client?.stop(), server.stop()]);
  }
}

const bytesOn = (e: ProbeEvent | undefined, address: string, key: 'delivered' | 'received') =>
  ((e?.paths as { address?: string; state: string; delivered: number; received: number }[]) ?? [])
    .filter((p) => p.address === address)
    .reduce((sum, p) => sum + p[key], 0);

describe('mobility manager with real interface events', { skip }, () => {
  const results: Record<string, Record<string, number>> = {};

  for (const watchMode of ['netlink', 'poll'] as const) {
    test(`${watchMode}: an address appears, vanishes, comes back and is renumbered mid-transfer`, async () => {
      const r: Record<string, number> = {};
      results[watchMode] = r;
      await withLab(topology(), async (lab) => {
        // The cellular network is not there yet.
        await lab.fault('cell', 'down', undefined, { side: 'a' });
        const {
          server,
          client: clientDone,
          serverEvents,
        } = await session(lab, watchMode, {}, async (client) => {
          await client.waitFor(
            (e) => e.event === 'progress' && (e.sent as number) > 1024 * 1024,
            20_000,
            'a first MiB',
          );
          // (a) The network appears: address, link up, routes (what DHCP does). Carrying
          // data = the first bytes on the new flowpath in either direction.
          let t0 = abs();
          const onNew = (e: ProbeEvent) =>
            (e.event === 'first-up' || e.event === 'first-down') && e.address === '10.2.0.2';
          const appeared = client.next(onNew, 10_000, 'data on the new cellular flowpath');
          const seen = client.next((e) => e.event === 'change', 10_000, 'the address event');
          await lab.fault('cell', 'up');
          r.addMs = ((await appeared).at as number) - t0;
          r.addEventMs = ((await seen).at as number) - t0;
          const added = await client.waitFor(
            (e) => e.event === 'path-added' && e.address === '10.2.0.2',
          );
          r.addPathUpMs = (added.at as number) - t0;

          // (b) The address vanishes.
          t0 = abs();
          const removed = client.next(
            (e) => e.event === 'path-removed' && e.address === '10.2.0.2',
            10_000,
            'the cellular flowpath removed',
          );
          await lab.exec('client', ['ip', 'addr', 'del', '10.2.0.2/24', 'dev', 'cell']);
          const gone = await removed;
          r.removeMs = (gone.at as number) - t0;
          r.removeReactionMs = gone.ms as number;
          r.removeT0 = t0;
          await client.next(
            (e) => e.event === 'progress' && bytesOn(e, '10.2.0.2', 'delivered') === 0,
            5000,
            'progress without the cellular path',
          );

          // It comes back (the lab's `up` restores address and routes), then is renumbered.
          const back = client.next(
            (e) => e.event === 'first-up' && e.address === '10.2.0.2',
            10_000,
            'the cellular flowpath back',
          );
          r.backT0 = abs();
          await lab.fault('cell', 'up');
          await back;
          t0 = abs();
          const renumberedAway = client.next(
            (e) => e.event === 'path-removed' && e.address === '10.2.0.2',
            10_000,
            'the old address abandoned',
          );
          const renumberedTo = client.next(
            (e) => (e.event === 'first-up' || e.event === 'first-down') && e.address === '10.2.0.3',
            10_000,
            'data on the renumbered address',
          );
          const moved = await lab.fault('cell', 'renumber', '10.2.0.3');
          assert.equal(moved.to, '10.2.0.3');
          const away = await renumberedAway;
          r.renumberRemoveMs = (away.at as number) - t0;
          r.renumberRemoveReactionMs = away.ms as number;
          r.renumberAddMs = ((await renumberedTo).at as number) - t0;
          r.renumberT0 = t0;
        });
        // The removal's window ends when the address comes back (the next step).
        const removeWindow = (r.backT0 as number) - (r.removeT0 as number);
        r.uploadGapAfterRemoveMs = longestGap(server.gaps, r.removeT0 as number, removeWindow);
        r.uploadGapAfterRenumberMs = longestGap(server.gaps, r.renumberT0 as number);
        r.downloadGapAfterRemoveMs = longestGap(
          clientDone.gaps,
          r.removeT0 as number,
          removeWindow,
        );
        r.downloadGapAfterRenumberMs = longestGap(clientDone.gaps, r.renumberT0 as number);
        // Where the download gaps began, ms after the command: a gap that begins before it
        // (or long after) is not the removal's.
        r.downloadGapAfterRemoveAtMs = longestGapAt(
          clientDone.gaps,
          r.removeT0 as number,
          removeWindow,
        ).at;
        r.downloadGapAfterRenumberAtMs = longestGapAt(clientDone.gaps, r.renumberT0 as number).at;
        // When and why the server closed its end of the removed flowpath.
        const serverDown = serverEvents.find(
          (e) => e.event === 'path-down' && (e.at as number) >= (r.removeT0 as number),
        );
        r.serverClosedAfterRemoveMs = ((serverDown?.at as number) ?? NaN) - (r.removeT0 as number);
        process.stdout.write(`# ${watchMode}: server path-down: ${String(serverDown?.reason)}\n`);
        delete r.removeT0;
        delete r.backT0;
        delete r.renumberT0;
      });
      process.stdout.write(`# ${watchMode}: ${JSON.stringify(r)}\n`);
      // The figures against the goals (1 s, 0.5 s) are reported, not asserted (the
      // machine is shared); asserted is what proves the manager, not a timeout, acted: the
      // flowpath removed well before the liveness verdict (deadAfterMs 3000; CI-class load once
      // stretched the lab's own ip commands to a 1077 ms removal) and the new
      // address carrying data (the client was given no local addresses: only the manager
      // opens flowpaths there).
      const within = (key: string, ms: number) =>
        assert.ok(
          (r[key] as number) <= ms,
          `${key} = ${r[key]} ms (limit ${ms}): ${JSON.stringify(r)}`,
        );
      within('addMs', 3000);
      within('removeMs', 2000);
      within('renumberRemoveMs', 2000);
      within('renumberAddMs', 3000);
      within('uploadGapAfterRemoveMs', 2000);
    });
  }

  test('setPolicy at run time moves a live session from Wi-Fi to cellular', async () => {
    const wifiFirst = {
      rules: [
        { interface: 'wifi', role: 'primary' },
        { interface: 'cell', role: 'backup', metered: true },
      ],
      backupOnDemand: false,
    };
    const moving = {
      rules: [
        { interface: 'wifi', role: 'backup' },
        { interface: 'cell', role: 'primary', metered: true },
      ],
      backupOnDemand: false,
    };
    const share: Record<string, number> = {};
    await withLab(topology(), async (lab) => {
      await session(
        lab,
        'netlink',
        wifiFirst,
        async (client) => {
          await client.waitFor(
            (e) => e.event === 'path-added' && e.address === '10.2.0.2',
            10_000,
            'the cellular flowpath',
          );
          // A window of 2 s on the first policy, from the first progress after the backup is up.
          const a0 = await client.next((e) => e.event === 'progress');
          const a1 = await client.next((e) => (e.at as number) >= (a0.at as number) + 2000, 10_000);
          // The device starts moving: prefer cellular. Let the bytes in flight drain (0.5 s),
          // then a window of 2 s.
          client.send(JSON.stringify({ cmd: 'policy', policy: moving }));
          const set = await client.next((e) => e.event === 'policy-set');
          const b0 = await client.next(
            (e) => e.event === 'progress' && (e.at as number) >= (set.at as number) + 500,
            10_000,
          );
          const b1 = await client.next((e) => (e.at as number) >= (b0.at as number) + 2000, 10_000);
          const b1p = e2p(client, b1);
          const a1p = e2p(client, a1);
          const d = (x: ProbeEvent, y: ProbeEvent, a: string) =>
            bytesOn(y, a, 'delivered') - bytesOn(x, a, 'delivered');
          share.wifiBefore = d(a0, a1p, '10.1.0.2');
          share.cellBefore = d(a0, a1p, '10.2.0.2');
          share.wifiAfter = d(b0, b1p, '10.1.0.2');
          share.cellAfter = d(b0, b1p, '10.2.0.2');
        },
        ['quiet'],
      );
    });
    process.stdout.write(`# policy switch (bytes delivered per path): ${JSON.stringify(share)}\n`);
    const { wifiBefore = 0, cellBefore = 0, wifiAfter = 0, cellAfter = 0 } = share;
    assert.ok(wifiBefore > 0 && cellBefore <= wifiBefore * 0.1, JSON.stringify(share));
    assert.ok(cellAfter > 0 && wifiAfter <= cellAfter * 0.1, JSON.stringify(share));
  });
});

/** The last progress event at or before `e` (windows are measured on progress reports). */
function e2p(client: Probe, e: ProbeEvent): ProbeEvent {
  const i = client.events.indexOf(e);
  for (let j = i; j >= 0; j--)
    if (client.events[j]?.event === 'progress') return client.events[j] as ProbeEvent;
  return e;
}
