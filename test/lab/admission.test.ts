import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ADMISSION_PEER,
  admissionTopology,
  manyAddresses,
  quantile,
  SERVER_IP,
} from '../../bench/workers/admission-lab.js';
import type { AdmissionSnapshot } from '../../src/session/admission/index.js';
import { ErrorCode } from '../../src/wire/index.js';
import { labSkipReason, withLab } from './lab-support.js';
import { Probe, type ProbeEvent } from './probe.js';

// Admission control under attack in the lab (issue 11). Attackers on three hosts and one
// host with 50 addresses open and abandon sessions as fast as they go (one of them is
// SIGKILLed mid-way), hold 5,000 idle TCP connections, dribble HELLOs and replay a captured
// HELLO flight and a captured attach, while 50 honest clients each connect and move 1 MB
// through an echo, checked by SHA-256. Every honest client must connect and complete.
//
//   honest, att1, att2, att3, many (50 addresses) ── router ── server (maxSessions 1000)

const skip = labSkipReason();
const PORT = '7460';
const HONEST = 50;
const SIZE = 1024 * 1024;

describe('admission control in the lab', { skip }, () => {
  test('50 honest clients all get through an attack that used to lock them out', async (t) => {
    await withLab(admissionTopology(), async (lab) => {
      const many = await manyAddresses(lab, 49);
      const probes: Probe[] = [];
      const start = (host: string, args: string[]) => {
        const p = new Probe(lab, host, args, ADMISSION_PEER);
        probes.push(p);
        return p;
      };
      try {
        const server = start('server', [
          'serve',
          SERVER_IP,
          PORT,
          JSON.stringify({ maxSessions: 1000, handshakeTimeoutMs: 5000 }),
        ]);
        await server.waitFor((e) => e.event === 'listening');
        const at = (host: string, mode: string, ...args: string[]) =>
          start(host, [mode, SERVER_IP, PORT, ...args]);
        // Abandoned sessions: confirmed (att1, the one killed mid-way; many), never confirmed (att2).
        const killed = at('att1', 'abandon', '16', '1', '-');
        at('att2', 'abandon', '16', '0', '-');
        at('many', 'abandon', '16', '1', many);
        // 5,000 idle connections, from two hosts; HELLOs one byte at a time from a third.
        const idleA = at('att3', 'idle', '2500', '-');
        const idleB = at('many', 'idle', '2500', many);
        at('att3', 'dribble', '200');
        await killed.waitFor(
          (e) => e.event === 'progress' && opened(e) > 200,
          20_000,
          'att1 opening',
        );
        await killed.stop(); // SIGKILL, mid-way through its sessions
        await Promise.all([
          idleA.waitFor((e) => e.event === 'idle', 30_000, 'idle connections (att3)'),
          idleB.waitFor((e) => e.event === 'idle', 30_000, 'idle connections (many)'),
        ]);
        const before = await stats(server);
        const honest = at('honest', 'honest', String(HONEST), String(SIZE));
        const done = await honest.waitFor((e) => e.event === 'done', 90_000, 'honest clients');
        const clients = honest.events.filter((e) => e.event === 'client');
        for (const c of clients) assert.equal(c.ok, true, `honest client: ${JSON.stringify(c)}`);
        assert.equal(clients.length, HONEST);
        assert.equal(done.ok, HONEST, 'every honest client connected and got its 1 MB back');
        const connectMs = done.connectMs as number[];
        const p50 = quantile(connectMs, 0.5);
        const p99 = quantile(connectMs, 0.99);
        t.diagnostic(`honest connect time p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`);

        // The captured flights, replayed from an attacker host.
        const captured = await honest.waitFor((e) => e.event === 'captured');
        const flights = captured.flights as string[];
        assert.ok(flights.length >= 2, 'a HELLO flight and an attach were captured');
        const replayer = at('att2', 'replay', ...flights.slice(0, 2));
        const replayed = await replayer.waitFor((e) => e.event === 'replayed', 20_000);
        const [newAnswer, attachAnswer] = replayed.answers as string[][];
        t.diagnostic(
          `replayed HELLO flight: ${newAnswer?.join(', ')}; attach: ${attachAnswer?.join(', ')}`,
        );
        // From another address the HELLO gets nothing of the honest session: a cookie of its
        // own, a refusal of its echoed cookie, or at most a session nobody will confirm.
        assert.ok(!newAnswer?.includes('error 9'), 'no honest session was reset');
        // Refused: its counter was used (REPLAY), or the session is over (it completed).
        const refusals = [ErrorCode.REPLAY, ErrorCode.EXPIRED, ErrorCode.UNKNOWN_SESSION];
        assert.ok(
          refusals.some((code) => attachAnswer?.includes(`error ${code}`)),
          `the replayed attach is refused (${attachAnswer?.join()})`,
        );
        assert.ok(!attachAnswer?.includes('welcome'), 'no resume on a replayed attach');

        const after = await stats(server);
        t.diagnostic(`server before honest: ${JSON.stringify(before)}`);
        t.diagnostic(`server after: ${JSON.stringify(after)}`);
        const c = after.counters as AdmissionSnapshot;
        assert.ok(c.pressureOn >= 1, 'admission turned on');
        assert.ok(c.evictedDetached + c.evictedUnconfirmed + c.expiredUnconfirmed > 0, 'evictions');
        assert.ok(c.sourceLimitHandshakes > 0, 'idle connections met the per-source limit');
        assert.ok((after.sessions as number) <= 1000);
      } finally {
        await Promise.all(probes.map((p) => p.stop()));
      }
    });
  });
});

function opened(e: ProbeEvent): number {
  return ((e.counts as Record<string, number> | undefined)?.opened ?? 0) as number;
}

async function stats(server: Probe): Promise<ProbeEvent> {
  server.send('stats');
  return server.next((e) => e.event === 'stats', 10_000, 'server stats');
}
