import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import type { LinesProcess } from '../../bench/workers/lines-process.js';
import type { Lab } from '../../src/lab/lab.js';
import { labSkipReason, withLab } from '../lab/lab-support.js';
import {
  type CliKind,
  type ClientResult,
  startChromium,
  startCli,
  waitReceived,
} from './lab/clients.js';
import {
  MiB,
  pngImage,
  replaceFile,
  type Served,
  sha256,
  wavAudio,
  writeBuffer,
  writePage,
  writeRandom,
} from './lab/content.js';
import { type Nginx, NGINX, startNginx } from './lab/nginx.js';
import {
  type FaultKind,
  failUplinkA,
  type Mode,
  startDriver,
  startNodeOrigin,
} from './lab/scenario.js';
import { gatewayTopology, ORIGIN } from './lab/topology.js';

// Real, unmodified clients through a two-uplink gateway in the lab (RTT 100 ms), uplink A
// failing in the middle of their downloads — with roam's splice, and without it (same lab,
// same clients, same failure), side by side:
//
//   client ── lan ── gateway ─ upa ─ carrier-a (NAT) ─┐
//                           └─ upb ─ carrier-b (NAT) ─ origin (nginx :80, Node :8081 :8082)
//
// nginx serves the first 5 MiB of a download (no Range, or bytes=0-) at full speed, then
// 100 KiB/s; resumed ranges at full speed. So every download is mid-way when A fails, which
// happens once all of them have 5 MiB. All clients of a case run at once (CI time); the
// baselines are cut 15 s after the failure (the long waits are in bench/gateway-recovery).

const skip = labSkipReason() ?? (existsSync(NGINX) ? undefined : 'nginx is not installed');
const chromiumSkip = existsSync('/usr/bin/chromium') ? false : 'chromium is not installed';
const FAIL_AT = 5 * MiB;
const NO_RANGE_PORT = 8081;
const CHUNKED_PORT = 8082;
const PACE = [String(FAIL_AT), String(100 * 1024)];
const BASELINE_WAIT_MS = 15_000;

interface Download {
  kind: CliKind;
  label: string;
  port: number;
  name: string;
}

interface Site {
  dir: string;
  files: Map<string, Served>;
  /** changing.bin as it was before the test replaced it. */
  oldChanging: Buffer;
}

function writeSite(dir: string): Site {
  const files = new Map<string, Served>();
  for (const s of [
    writeRandom(dir, 'big.bin', 20 * MiB),
    writeRandom(dir, 'changing.bin', 8 * MiB),
    writeBuffer(dir, 'image.png', pngImage(1670)), // 8.4 MB
    writeBuffer(dir, 'media.wav', wavAudio(35)), // 6.2 MB
  ])
    files.set(s.name, s);
  writePage(dir, { image: 'image.png', media: 'media.wav', download: 'big.bin' });
  return { dir, files, oldChanging: readFileSync(join(dir, 'changing.bin')) };
}

const url = (port: number, name: string) =>
  port === 80 ? `http://${ORIGIN}/${name}` : `http://${ORIGIN}:${port}/${name}`;

interface Outcome {
  results: ClientResult[];
  /** One per CLI download, in order, then Chromium's three. */
  downloads: Download[];
  driver: LinesProcess | undefined;
  accessLog: string[];
  site: Site;
  /** Client connections the gateway relay accepted after the failure (the clients' own retries). */
  newConnections: number;
}

/**
 * One case: origins up, the gateway in `mode`, every client started, uplink A fails once all
 * of them are past 5 MiB, then each runs to its end (or is cut at `deadlineMs`).
 */
async function runCase(
  lab: Lab,
  mode: Mode,
  fault: FaultKind,
  downloads: Download[],
  opts: { chromium: boolean; deadlineMs: number; changeContent?: boolean },
  check: (o: Outcome) => void,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'roam-site-'));
  const stops: (() => Promise<void>)[] = [
    () => Promise.resolve(rmSync(dir, { recursive: true, force: true })),
  ];
  try {
    const site = writeSite(dir);
    const nginx: Nginx = await startNginx(lab, 'origin', {
      address: ORIGIN,
      root: dir,
      paceAfter: '5m',
      paceRate: '100k',
    });
    stops.push(() => nginx.stop());
    const ports = new Set(downloads.map((d) => d.port));
    if (opts.chromium) ports.add(80);
    if (ports.has(NO_RANGE_PORT)) {
      const o = await startNodeOrigin(lab, NO_RANGE_PORT, dir, 'no-range', PACE);
      stops.push(() => o.stop());
    }
    if (ports.has(CHUNKED_PORT)) {
      const o = await startNodeOrigin(lab, CHUNKED_PORT, dir, 'chunked', PACE);
      stops.push(() => o.stop());
    }
    let driver: LinesProcess | undefined;
    if (mode !== 'nat') {
      const d = await startDriver(lab, mode, [80, NO_RANGE_PORT, CHUNKED_PORT]);
      driver = d;
      stops.push(() => d.stop());
    }
    const runs = downloads.map((d) =>
      startCli(lab, d.kind, url(d.port, d.name), site.files.get(d.name) as Served, d.label),
    );
    const chromium = opts.chromium
      ? startChromium(lab, `http://${ORIGIN}`, {
          image: site.files.get('image.png') as Served,
          download: site.files.get('big.bin') as Served,
        })
      : undefined;
    const stopAll = () => {
      for (const r of runs) r.kill();
      chromium?.stop();
    };
    stops.push(async () => {
      stopAll();
      await Promise.all([...runs.map((r) => r.done), chromium?.done]);
    });
    for (const port of ports) {
      // Chromium's image, media and fetch() each have a connection of their own.
      const n =
        downloads.filter((d) => d.port === port).length + (port === 80 && opts.chromium ? 3 : 0);
      await waitReceived(lab, n, FAIL_AT, { port });
    }
    const failure = await failUplinkA(lab, mode, fault, driver, () => {
      if (opts.changeContent) replaceFile(dir, 'changing.bin', Buffer.alloc(8 * MiB, 0x5a));
    });
    const deadline = setTimeout(stopAll, opts.deadlineMs);
    const results = [
      ...(await Promise.all(runs.map((r) => r.done))),
      ...((await chromium?.done) ?? []),
    ];
    clearTimeout(deadline);
    const newConnections =
      driver?.events.filter((e) => e.event === 'flow' && e.t > failure.faultAt).length ?? 0;
    check({ results, downloads, driver, accessLog: nginx.accessLog(), site, newConnections });
  } finally {
    for (const stop of stops.reverse()) await stop();
  }
}

function describeResults(t: TestContext, title: string, results: ClientResult[]): void {
  for (const r of results) {
    const state = r.completed ? 'COMPLETE' : r.killed ? 'STALLED (cut)' : 'FAILED';
    const why = r.stderr ? ` — ${r.stderr.split('\n')[0]}` : '';
    t.diagnostic(
      `${title} ${r.client}: ${state}, exit ${r.exitCode}, ${(r.ms / 1000).toFixed(1)} s, ${r.bytes} B, sha256 ${r.sha256.slice(0, 12)}${why}`,
    );
  }
}

/** Requests the clients sent themselves (the engine's re-requests carry If-Range). */
function ownRequests(accessLog: string[], agent: string): string[] {
  return accessLog.filter((l) => l.includes(agent) && l.split('" "')[1]?.startsWith('-'));
}

const cli = (kind: CliKind, port = 80, name = 'big.bin', label: string = kind): Download => ({
  kind,
  label,
  port,
  name,
});
const THREE = [cli('curl'), cli('wget'), cli('aria2c')];

describe(
  'real clients through the gateway when uplink A fails mid-download (RTT 100 ms)',
  { skip },
  () => {
    const topology = () => gatewayTopology({ rttMs: 100, rate: '100mbit' });

    function assertAllComplete(o: Outcome): void {
      for (const r of o.results) {
        if (r.client === 'curl content changed') continue;
        assert.ok(r.completed, `${r.client} did not complete: ${JSON.stringify(r)}`);
      }
      // No retry of their own: no client opened a connection after the failure, and nginx
      // served no range request but the engine's (which carry If-Range).
      assert.equal(o.newConnections, 0, 'a client reconnected');
      const ranges = o.accessLog.filter((l) => /^"bytes=[1-9]/.test(l));
      for (const l of ranges)
        assert.match(l, /^"[^"]*" "\\x22/, `a range request without If-Range: ${l}`);
      const splices = o.driver?.events.filter((e) => e.event === 'splice').length ?? 0;
      assert.ok(splices >= o.results.length - 1, `only ${splices} splices`);
    }

    test(
      'roam, A stalls: curl, wget, aria2c (nginx, no-range and chunked origins) and Chromium complete byte-exact; changed content fails cleanly',
      { skip: chromiumSkip },
      async (t) => {
        await withLab(topology(), async (lab) => {
          await runCase(
            lab,
            'splice',
            'stall',
            [
              ...THREE,
              cli('curl', NO_RANGE_PORT, 'big.bin', 'curl no-range origin'),
              cli('curl', CHUNKED_PORT, 'big.bin', 'curl chunked origin'),
              cli('curl', 80, 'changing.bin', 'curl content changed'),
            ],
            { chromium: true, deadlineMs: 120_000, changeContent: true },
            (o) => {
              describeResults(t, 'roam/stall', o.results);
              assertAllComplete(o);
              const changed = o.results.find((r) => r.client === 'curl content changed');
              assert.ok(changed);
              assert.equal(
                changed.exitCode,
                18,
                `curl reports a short transfer: ${changed.stderr}`,
              );
              assert.ok(changed.bytes < 8 * MiB && changed.bytes >= FAIL_AT);
              assert.equal(
                changed.sha256,
                sha256(o.site.oldChanging.subarray(0, changed.bytes)),
                'only bytes of the old content',
              );
            },
          );
        });
      },
    );

    test(
      'roam, A goes down: curl, wget, aria2c and Chromium complete byte-exact',
      { skip: chromiumSkip },
      async (t) => {
        await withLab(topology(), async (lab) => {
          await runCase(
            lab,
            'splice',
            'down',
            THREE,
            { chromium: true, deadlineMs: 120_000 },
            (o) => {
              describeResults(t, 'roam/down', o.results);
              assertAllComplete(o);
            },
          );
        });
      },
    );

    for (const fault of ['stall', 'down'] as const) {
      test(
        `plain NAT, A ${fault === 'stall' ? 'stalls' : 'goes down'}: no client completes (cut after 15 s)`,
        { skip: chromiumSkip },
        async (t) => {
          await withLab(topology(), async (lab) => {
            await runCase(
              lab,
              'nat',
              fault,
              THREE,
              { chromium: true, deadlineMs: BASELINE_WAIT_MS },
              (o) => {
                describeResults(t, `nat/${fault}`, o.results);
                for (const r of o.results)
                  assert.equal(r.completed, false, `${r.client} completed without help`);
              },
            );
          });
        },
      );
    }

    test(
      "reset on failure (the paper's RST case): curl, Chromium's image and fetch() fail; what completes retried on its own",
      { skip: chromiumSkip },
      async (t) => {
        await withLab(topology(), async (lab) => {
          await runCase(
            lab,
            'rst',
            'stall',
            THREE,
            { chromium: true, deadlineMs: BASELINE_WAIT_MS },
            (o) => {
              describeResults(t, 'rst/stall', o.results);
              const by = (name: string) => o.results.find((r) => r.client === name) as ClientResult;
              assert.equal(by('curl').exitCode, 56, 'curl: failure receiving data');
              t.diagnostic(
                `rst/stall: ${o.newConnections} connections opened by the clients after the reset`,
              );
              for (const item of ['chromium image', 'chromium fetch()'])
                assert.equal(by(item).completed, false, `${item} completed`);
              // Whatever completed did so by retrying on its own: a request without If-Range from it.
              for (const [name, agent] of [
                ['wget', 'Wget'],
                ['aria2c', 'aria2'],
              ] as const) {
                if (!by(name).completed) continue;
                const own = ownRequests(o.accessLog, agent).filter((l) => /^"bytes=[1-9]/.test(l));
                assert.ok(own.length >= 1, `${name} completed without a range request of its own`);
              }
              // Chromium's media stack re-requests what it still needs after a reset.
              if (by('chromium media').completed)
                t.diagnostic(
                  `rst/stall chromium requests: ${ownRequests(o.accessLog, 'HeadlessChrome')
                    .map((l) => l.split(' "Mozilla')[0])
                    .join(', ')}`,
                );
              assert.ok(o.newConnections >= o.results.filter((r) => r.completed).length);
            },
          );
        });
      },
    );
  },
);
