import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Lab } from '../../src/lab/lab.js';
import type { LinesProcess } from '../../bench/workers/lines-process.js';
import { labSkipReason, withLab } from '../lab/lab-support.js';
import { type CliKind, type ClientResult, startCli, waitReceived } from './lab/clients.js';
import { MiB, replaceFile, type Served, sha256, writeRandom } from './lab/content.js';
import { type Nginx, NGINX, startNginx } from './lab/nginx.js';
import { type FaultKind, failUplinkA, type Mode, startDriver, startNodeOrigin } from './lab/scenario.js';
import { gatewayTopology, ORIGIN } from './lab/topology.js';
import { existsSync } from 'node:fs';

// Real clients through a two-uplink gateway in the lab (RTT 100 ms), uplink A failing in the
// middle of their downloads — with roam's splice, and without it (same lab, same clients):
//
//   client ── lan ── gateway ─ upa ─ carrier-a (NAT) ─┐
//                           └─ upb ─ carrier-b (NAT) ─ origin (nginx :80, Node :8081 :8082)
//
// nginx serves the first 5 MiB of a download at full speed, then 100 KiB/s (resumes at full
// speed), so every download is mid-way when A fails. All clients of a case run at once.

const skip = labSkipReason() ?? (existsSync(NGINX) ? undefined : 'nginx is not installed');
const FAIL_AT = 5 * MiB;
const NO_RANGE_PORT = 8081;
const CHUNKED_PORT = 8082;
const PACE = [String(FAIL_AT), String(100 * 1024)];

interface Download {
  kind: CliKind;
  label: string;
  url: string;
  file: Served;
  /** Expected outcome in splice mode. */
  expect: 'complete' | 'clean-failure';
  /** The old content, for the no-mixed-content check. */
  old?: Buffer;
}

interface Outcome {
  results: ClientResult[];
  driver: LinesProcess | undefined;
  nginx: Nginx;
}

function report(mode: Mode, fault: FaultKind, results: ClientResult[]): string {
  return results
    .map(
      (r) =>
        `${mode}/${fault} ${r.client}: ${r.completed ? 'COMPLETE' : r.killed ? 'STALLED (killed)' : 'FAILED'} exit=${r.exitCode} ${(r.ms / 1000).toFixed(1)} s ${r.bytes} B sha256 ${r.sha256.slice(0, 12)}${r.stderr ? ` — ${r.stderr.split('\n')[0]}` : ''}`,
    )
    .join('\n');
}

async function runCase(
  lab: Lab,
  mode: Mode,
  fault: FaultKind,
  downloads: (dir: string) => Download[],
  { deadlineMs = 60_000, changed }: { deadlineMs?: number; changed?: (dir: string) => void } = {},
): Promise<Outcome & { list: Download[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'roam-site-'));
  const stops: (() => Promise<void>)[] = [() => Promise.resolve(rmSync(dir, { recursive: true, force: true }))];
  try {
    const list = downloads(dir);
    const nginx = await startNginx(lab, 'origin', {
      address: ORIGIN,
      root: dir,
      paceAfter: '5m',
      paceRate: '100k',
    });
    stops.push(() => nginx.stop());
    const needs = new Set(list.map((d) => new URL(d.url).port));
    if (needs.has(String(NO_RANGE_PORT))) {
      const o = await startNodeOrigin(lab, NO_RANGE_PORT, dir, 'no-range', PACE);
      stops.push(() => o.stop());
    }
    if (needs.has(String(CHUNKED_PORT))) {
      const o = await startNodeOrigin(lab, CHUNKED_PORT, dir, 'chunked', PACE);
      stops.push(() => o.stop());
    }
    let driver: LinesProcess | undefined;
    if (mode !== 'nat') {
      driver = await startDriver(lab, mode, [80, NO_RANGE_PORT, CHUNKED_PORT]);
      const d = driver;
      stops.push(() => d.stop());
    }
    const runs = list.map((d) => startCli(lab, d.kind, d.url, d.file, d.label));
    stops.push(async () => {
      for (const r of runs) r.kill();
      await Promise.all(runs.map((r) => r.done));
    });
    for (const port of needs) await waitReceived(lab, list.filter((d) => new URL(d.url).port === port).length, FAIL_AT, { port: Number(port || 80) });
    await failUplinkA(lab, mode, fault, driver, () => changed?.(dir));
    for (const r of runs) r.markFailure();
    const deadline = setTimeout(() => {
      for (const r of runs) r.kill();
    }, deadlineMs);
    const results = await Promise.all(runs.map((r) => r.done));
    clearTimeout(deadline);
    return { results, driver, nginx, list };
  } finally {
    for (const stop of stops.reverse()) await stop();
  }
}

const url = (port: number, name: string) =>
  port === 80 ? `http://${ORIGIN}/${name}` : `http://${ORIGIN}:${port}/${name}`;

describe('real clients through the gateway when uplink A fails mid-download (RTT 100 ms)', { skip }, () => {
  const topology = () => gatewayTopology({ rttMs: 100, rate: '100mbit' });

  test('roam splices: curl, wget, aria2c complete byte-exact (nginx, no-range and chunked origins); changed content fails cleanly', async (t) => {
    await withLab(topology(), async (lab) => {
      let oldChanging: Buffer | undefined;
      const out = await runCase(
        lab,
        'splice',
        'stall',
        (dir) => {
          const big = writeRandom(dir, 'big.bin', 20 * MiB);
          const changing = writeRandom(dir, 'changing.bin', 8 * MiB);
          oldChanging = readFileSync(join(dir, 'changing.bin'));
          return [
            { kind: 'curl', label: 'curl', url: url(80, 'big.bin'), file: big, expect: 'complete' },
            { kind: 'wget', label: 'wget', url: url(80, 'big.bin'), file: big, expect: 'complete' },
            { kind: 'aria2c', label: 'aria2c', url: url(80, 'big.bin'), file: big, expect: 'complete' },
            { kind: 'curl', label: 'curl no-range origin', url: url(NO_RANGE_PORT, 'big.bin'), file: big, expect: 'complete' },
            { kind: 'curl', label: 'curl chunked origin', url: url(CHUNKED_PORT, 'big.bin'), file: big, expect: 'complete' },
            { kind: 'curl', label: 'curl content changed', url: url(80, 'changing.bin'), file: changing, expect: 'clean-failure' },
          ];
        },
        {
          changed: (dir) => {
            replaceFile(dir, 'changing.bin', Buffer.alloc(8 * MiB, 0x5a));
          },
        },
      );
      t.diagnostic(report('splice', 'stall', out.results));
      for (const [i, d] of out.list.entries()) {
        const r = out.results[i] as ClientResult;
        if (d.expect === 'complete') {
          assert.equal(r.exitCode, 0, `${d.label}: ${r.stderr}`);
          assert.equal(r.bytes, d.file.size, `${d.label}: length`);
          assert.equal(r.sha256, d.file.sha256, `${d.label}: SHA-256`);
        } else {
          assert.notEqual(r.exitCode, 0, `${d.label} must report an error`);
          assert.ok(r.bytes < d.file.size, `${d.label}: short`);
          const old = oldChanging as Buffer;
          assert.equal(r.sha256, sha256(old.subarray(0, r.bytes)), `${d.label}: only old bytes`);
        }
      }
      const flows = out.driver?.events.filter((e) => e.event === 'flow') ?? [];
      assert.equal(flows.length, out.list.length, 'one connection per client: no retry of their own');
    });
  });
});
