import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isRoamError } from '../../src/errors.js';
import { Lab } from '../../src/lab/lab.js';
import { labNamespaces, wireDaemons } from '../../src/lab/teardown.js';
import { assertLabGone, labSkipReason, pingRttMs, simpleTopology, withLab } from './lab-support.js';
import { Probe } from './probe.js';
import { IperfServer } from './iperf.js';
import { readFileSync } from 'node:fs';
import { parseTrace, traceMeanRateBps } from '../../src/lab/trace/index.js';

/** A measurement window: the test asserts what did not happen during it. */
const observe = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const OWN_LAB = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'own-lab.js');
const skip = labSkipReason();
if (skip) console.log(`# lab tests skipped: ${skip}`);

describe('lab: measured delay, rate and loss', { skip }, () => {
  test('RTT through one link is 2 × the one-way delay, within 1 ms and 10%, at 20, 80 and 200 ms', async () => {
    await withLab(simpleTopology(), async (lab) => {
      const base = await pingRttMs(lab, 'client', '10.1.0.1', 10, 0.05);
      assert.ok(base.median < 1, `a wire with no delay adds ${base.median} ms`);
      for (const rttMs of [20, 80, 200]) {
        await lab.fault('wifi', 'delay', rttMs / 2);
        const { min, median, loss } = await pingRttMs(
          lab,
          'client',
          '10.1.0.1',
          rttMs === 200 ? 8 : 10,
          0.2,
        );
        assert.equal(loss, 0);
        // The lowest RTT is the path's own delay; a busy host (tests run two at a time) only
        // ever adds to single replies.
        const error = min - rttMs;
        console.log(
          `# RTT configured ${rttMs} ms, measured min ${min.toFixed(3)} ms, median ${median.toFixed(1)} ms (error ${error.toFixed(3)} ms)`,
        );
        assert.ok(Math.abs(error) <= 1, `RTT ${min} ms for ${rttMs} ms configured`);
        assert.ok(Math.abs(median - rttMs) <= rttMs * 0.1, `median RTT ${median} ms`);
        assert.ok(Math.abs(error) <= rttMs * 0.1);
      }
    });
  });

  test('TCP throughput is within 10% of the configured rate at 5, 20 and 100 Mbit/s', async () => {
    await withLab(simpleTopology({ wifi: { rate: '5mbit', delay: '2ms' } }), async (lab) => {
      const server = await IperfServer.start(lab, 'server');
      try {
        for (const mbit of [5, 20, 100]) {
          await lab.fault('wifi', 'rate', `${mbit}mbit`);
          const measured = await server.measure('client', '10.9.0.2', 3);
          console.log(
            `# rate configured ${mbit} Mbit/s, TCP goodput ${measured.toFixed(2)} Mbit/s (${((measured / mbit) * 100).toFixed(1)}%)`,
          );
          assert.ok(
            Math.abs(measured - mbit) <= mbit * 0.1,
            `${measured} Mbit/s for ${mbit} configured`,
          );
        }
      } finally {
        await server.stop();
      }
    });
  });

  test('trace mode: TCP follows the bandwidth trace (lte-steady, download direction)', async () => {
    const topology = simpleTopology({
      wifi: { delay: '10ms', queue: 100, down: { trace: 'lte-steady' } },
    });
    const trace = parseTrace(
      readFileSync(topology.links[0]?.down.trace as string, 'utf8'),
      'lte-steady',
    );
    // TCP goodput of a 1500-byte frame per 1504-byte opportunity: 1448 payload bytes.
    const expected = (traceMeanRateBps(trace) / 1e6) * (1448 / 1504);
    await withLab(topology, async (lab) => {
      const server = await IperfServer.start(lab, 'server');
      try {
        const measured = await server.measure('client', '10.9.0.2', 4, ['-R']);
        console.log(
          `# trace lte-steady: TCP goodput ${measured.toFixed(2)} Mbit/s, expected about ${expected.toFixed(2)}`,
        );
        assert.ok(Math.abs(measured - expected) <= expected * 0.1, `${measured} Mbit/s`);
      } finally {
        await server.stop();
      }
    });
  });

  test('loss drops the configured share of frames in each direction', async () => {
    await withLab(simpleTopology({ wifi: { loss: 0.1 } }), async (lab) => {
      const { loss } = await pingRttMs(lab, 'client', '10.1.0.1', 2000, 0.002);
      const stats = (await lab.stats()) as Record<
        string,
        { ab: { rxPackets: number; dropLoss: number } }
      >;
      const ab = stats.wifi?.ab;
      // Once in a clean-clone CI run the wire had counted fewer than the 2000 requests: say
      // what it and ping saw, so the next occurrence explains itself.
      assert.ok(ab && ab.rxPackets >= 2000, JSON.stringify({ wire: stats.wifi, pingLoss: loss }));
      const share = ab.dropLoss / ab.rxPackets;
      console.log(
        `# loss configured 0.1 per direction: wire dropped ${share.toFixed(4)}, ping lost ${loss.toFixed(3)} (expected 0.19)`,
      );
      assert.ok(Math.abs(share - 0.1) < 0.03, `wire dropped ${share}`);
      assert.ok(Math.abs(loss - 0.19) < 0.05, `ping lost ${loss}`);
    });
  });
});

describe('lab: faults do what they claim', { skip }, () => {
  test('stall: a TCP transfer stops with no reset and no error, and resumes after up', async () => {
    await withLab(simpleTopology({ wifi: { rate: '50mbit', delay: '5ms' } }), async (lab) => {
      const server = new Probe(lab, 'server', ['serve', '7000', '--send']);
      let client: Probe | undefined;
      try {
        await server.waitFor((e) => e.event === 'listening');
        client = new Probe(lab, 'client', ['stream', '10.9.0.2', '7000']);
        await client.waitFor(
          (e) => e.event === 'progress' && (e.bytes ?? 0) > 1_000_000,
          10_000,
          '1 MB received',
        );
        await lab.fault('wifi', 'stall');
        // Frames already past the wire may still land; after that, nothing may arrive.
        await client.next((e) => e.event === 'progress');
        await client.next((e) => e.event === 'progress');
        const before = client.bytes;
        await observe(1500);
        const after = client.bytes;
        console.log(`# stall: ${after - before} bytes arrived in 1.5 s of stall`);
        assert.equal(after, before, 'bytes arrived through a stalled link');
        assert.ok(
          !client.events.some((e) => ['error', 'end', 'close'].includes(e.event)),
          'the client saw an error',
        );
        assert.ok(
          !server.events.some((e) => ['error', 'end', 'close'].includes(e.event)),
          'the server saw an error',
        );
        await lab.fault('wifi', 'up');
        await client.waitFor(
          (e) => e.event === 'progress' && (e.bytes ?? 0) > after,
          20_000,
          'bytes after the stall',
        );
      } finally {
        await Promise.all([client?.stop(), server.stop()]);
      }
    });
  });

  test('down: new connections fail at once; up: they work again', async () => {
    await withLab(simpleTopology(), async (lab) => {
      const server = new Probe(lab, 'server', ['serve', '7001']);
      try {
        await server.waitFor((e) => e.event === 'listening');
        await lab.fault('wifi', 'down');
        const failed = new Probe(lab, 'client', ['connect', '10.9.0.2', '7001']);
        const e = await failed.waitFor((x) => x.event === 'error' || x.event === 'connected', 3000);
        await failed.stop();
        assert.equal(e.event, 'error');
        assert.ok(['ENETUNREACH', 'EHOSTUNREACH'].includes(e.code ?? ''), `got ${e.code}`);
        await lab.fault('wifi', 'up');
        const ok = new Probe(lab, 'client', ['connect', '10.9.0.2', '7001']);
        assert.equal(
          (await ok.waitFor((x) => x.event === 'error' || x.event === 'connected', 5000)).event,
          'connected',
        );
        await ok.stop();
      } finally {
        await server.stop();
      }
    });
  });

  test('renumber: the old address is unusable, the new one works; NAT: the server sees the router', async () => {
    await withLab(simpleTopology(), async (lab) => {
      const server = new Probe(lab, 'server', ['serve', '7002']);
      try {
        await server.waitFor((e) => e.event === 'listening');
        const moved = await lab.fault('wifi', 'renumber');
        assert.equal(moved.from, '10.1.0.2');
        assert.ok(moved.to && moved.to !== moved.from);
        assert.equal(lab.address('client', 'wifi'), moved.to);
        const old = new Probe(lab, 'client', [
          'connect',
          '10.9.0.2',
          '7002',
          '--local',
          '10.1.0.2',
        ]);
        const oldResult = await old.waitFor((x) => x.event === 'error' || x.event === 'connected');
        await old.stop();
        assert.deepEqual([oldResult.event, oldResult.code], ['error', 'EADDRNOTAVAIL']);
        const fresh = new Probe(lab, 'client', [
          'connect',
          '10.9.0.2',
          '7002',
          '--local',
          moved.to as string,
        ]);
        assert.equal(
          (await fresh.waitFor((x) => x.event === 'error' || x.event === 'connected')).event,
          'connected',
        );
        await fresh.stop();
        const seen = await server.waitFor((e) => e.event === 'connection');
        assert.equal(
          seen.remote,
          '10.9.0.1',
          'the server saw the client itself, not the NAT router',
        );
      } finally {
        await server.stop();
      }
    });
  });

  test('renumber --announce: the neighbour maps the new address to the mover at once (gratuitous ARP)', async () => {
    await withLab(simpleTopology(), async (lab) => {
      const neighbour = async (address: string) => {
        const { stdout } = await lab.exec('router', ['ip', '-j', 'neigh', 'show', 'to', address]);
        return (JSON.parse(stdout) as { lladdr?: string }[])[0]?.lladdr;
      };
      const { stdout } = await lab.exec('client', ['ip', '-j', 'link', 'show']);
      const macs = (JSON.parse(stdout) as { address?: string; ifname?: string }[])
        .filter((l) => l.ifname !== 'lo')
        .map((l) => l.address);
      const quiet = await lab.fault('wifi', 'renumber');
      assert.equal(await neighbour(quiet.to as string), undefined, 'not announced: unknown');
      const announced = await lab.fault('wifi', 'renumber', undefined, { announce: true });
      assert.notEqual(announced.to, quiet.to);
      const lladdr = await neighbour(announced.to as string);
      assert.ok(lladdr && macs.includes(lladdr), `router maps it to the client: ${lladdr}`);
    });
  });

  test('faults on a link that does not exist, and commands on a lab that is not up, say so', async () => {
    await withLab(simpleTopology(), async (lab) => {
      await assert.rejects(lab.fault('nope', 'stall'), (e: unknown) =>
        isRoamError(e, 'ROAM_LAB_NO_SUCH_LINK'),
      );
    });
    assert.throws(
      () => Lab.attach('rl000000'),
      (e: unknown) => isRoamError(e, 'ROAM_LAB_NOT_UP'),
    );
  });
});

describe('lab: clean-up', { skip }, () => {
  test('a test process that dies without cleaning up: its lab is removed anyway', async () => {
    const child = spawn(process.execPath, [OWN_LAB], { stdio: ['ignore', 'pipe', 'inherit'] });
    const id = await new Promise<string>((resolve, reject) => {
      child.stdout?.once('data', (d: Buffer) => resolve(d.toString().trim()));
      child.once('exit', (code) => reject(new Error(`own-lab exited ${code}`)));
    });
    assert.match(id, /^rl[0-9a-f]{6}$/);
    assert.ok(labNamespaces(id).length > 0);
    child.kill('SIGKILL');
    // The wire daemon checks its owner twice a second; give it a bounded time.
    const deadline = performance.now() + 10_000;
    while (labNamespaces(id).length > 0 || wireDaemons().some((d) => d.labId === id)) {
      assert.ok(performance.now() < deadline, 'lab of a killed owner still there after 10 s');
      await observe(100);
    }
    assertLabGone(id);
  });

  test('down leaves no namespace, interface, daemon or state; two labs at once do not collide', async () => {
    const [one, two] = await Promise.all([Lab.up(simpleTopology()), Lab.up(simpleTopology())]);
    assert.notEqual(one.id, two.id);
    const { median } = await pingRttMs(two, 'client', '10.9.0.2', 3, 0.05);
    assert.ok(Number.isFinite(median));
    await Promise.all([one.down(), two.down()]);
    assertLabGone(one.id);
    assertLabGone(two.id);
  });
});
