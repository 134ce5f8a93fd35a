import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fetchGatewayStatus } from '../../src/gateway/control/client.js';
import type { GatewayStatus } from '../../src/gateway/status/model.js';
import { gatewayStateDir } from '../../src/gateway/routing/state.js';
import { Lab } from '../../src/lab/lab.js';
import { packageRoot } from '../../src/package-root.js';
import { labSkipReason } from '../lab/lab-support.js';
import { Probe, type ProbeEvent } from '../lab/probe.js';

// roam gateway in the lab (examples/topologies/gateway.yaml):
//
//   client ── lan ── gateway ─ uplink1 ─ carrier1 (NAT) ─┐
//                           └─ uplink2 ─ carrier2 (NAT) ─ inet ── origin 203.0.113.10
//
// The gateway runs as `roam gateway up` inside its namespace; the client has no proxy
// settings (port 80 is intercepted); curl downloads 20 MB from a node:http origin with
// Range support while the uplink carrying it stalls or goes down.

const here = dirname(fileURLToPath(import.meta.url));
const ORIGIN = join(here, 'lab', 'range-origin.js');
const TCP_CLIENT = join(here, 'lab', 'tcp-client.js');
const CLI = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');
const TOPOLOGY = join(packageRoot(), 'examples', 'topologies', 'gateway.yaml');
const CONFIG = join(packageRoot(), 'examples', 'gateway', 'lab.yaml');
const SIZE = 20 * 1024 * 1024;
const ORIGIN_IP = '203.0.113.10';
const LINK_OF: Record<string, string> = { a: 'uplink1', b: 'uplink2' };
const skip = labSkipReason();

/** Waits for the gateway's status to satisfy `pred` (polling its control socket). */
async function waitStatus(
  name: string,
  pred: (s: GatewayStatus) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<GatewayStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: GatewayStatus | undefined;
  for (;;) {
    last = await fetchGatewayStatus(name);
    if (pred(last)) return last;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}; status: ${JSON.stringify(last)}`);
    }
    await new Promise((r) => setTimeout(r, 50)); // poll interval, not synchronisation
  }
}

/** The gateway's own view of the host, for comparing before and after. */
function hostState(lab: Lab): { iptables: string[]; rules: string; routes: string } {
  const ns = lab.ns('gateway');
  const exec = (...argv: string[]) =>
    execFileSync('ip', ['netns', 'exec', ns, ...argv], { encoding: 'utf8' });
  const iptables = exec('iptables-save')
    .split('\n')
    .filter(
      (l) =>
        l.startsWith('-') ||
        (l.startsWith(':') && !/^:(PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING) /.test(l)),
    );
  return {
    iptables,
    rules: exec('ip', 'rule', 'show'),
    routes: exec('ip', 'route', 'show', 'table', 'all')
      .split('\n')
      // Routes the kernel makes for addresses (a renumber changes them) are not ours.
      .filter((l) => !l.includes('table local') && !l.includes('proto kernel'))
      .join('\n'),
  };
}

class GatewayProcess {
  readonly child: ChildProcess;
  readonly ready: Promise<{ port: number; pid: number }>;
  readonly exited: Promise<number | null>;

  constructor(
    lab: Lab,
    readonly name: string,
    args: string[] = ['--config', CONFIG, '--name', name],
  ) {
    this.child = lab.spawn(
      'gateway',
      [process.execPath, CLI, '--log-level', 'warn', 'gateway', 'up', ...args],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    this.ready = new Promise((resolve, reject) => {
      const lines = createInterface({ input: this.child.stdout as NodeJS.ReadableStream });
      lines.on('line', (line) => {
        const e = JSON.parse(line) as { event: string; port: number; pid: number };
        if (e.event === 'ready') resolve(e);
      });
      void this.exited.then((code) => reject(new Error(`gateway exited (${code}) before ready`)));
    });
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    await this.exited;
  }
}

describe('roam gateway in the lab', { skip, timeout: 600_000 }, () => {
  let lab: Lab;
  let origin: Probe;
  let gw: GatewayProcess;
  let baseline: ReturnType<typeof hostState>;
  let expectedSha: string;
  const name = `t${randomBytes(3).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'roam-gw-'));

  before(async () => {
    lab = await Lab.up(TOPOLOGY);
    baseline = hostState(lab);
    origin = new Probe(lab, 'origin', [String(SIZE), '80', '7000'], ORIGIN);
    const listening = await origin.waitFor((e) => e.event === 'listening', 30_000, 'origin');
    expectedSha = listening.sha256 as string;
    gw = new GatewayProcess(lab, name);
    await gw.ready;
  });

  after(async () => {
    await gw?.stop('SIGKILL');
    await origin?.stop();
    // Whatever a failed test left: restore the gateway's namespace, then remove the lab.
    execFileSync(process.execPath, [CLI, 'gateway', 'down', '--name', name], { stdio: 'ignore' });
    await lab?.down();
    rmSync(dir, { recursive: true, force: true });
  });

  async function download(
    file: string,
  ): Promise<{ code: number; sha256: string; length: number; stderr: string }> {
    const r = await lab.exec('client', ['curl', '-sS', '-o', file, `http://${ORIGIN_IP}/file`], {
      mayFail: true,
    });
    const bytes = existsSync(file) ? readFileSync(file) : Buffer.alloc(0);
    return {
      code: r.code,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      length: bytes.length,
      stderr: r.stderr,
    };
  }

  async function heal(uplink: string): Promise<void> {
    await lab.fault(LINK_OF[uplink] as string, 'up');
    await waitStatus(name, (s) => s.uplinks.every((u) => u.state === 'up'), `${uplink} up again`);
  }

  /** curl through the gateway; `fault` hits the uplink carrying it after 5 MB reached the client. */
  async function downloadThroughFailure(kind: 'stall' | 'down', file: string) {
    const done = download(file);
    const s = await waitStatus(
      name,
      (st) => st.http.some((f) => f.bytesToClient >= 5 * 1024 * 1024 && f.uplink !== undefined),
      'the download past 5 MB',
    );
    const flow = s.http.find((f) => f.bytesToClient >= 5 * 1024 * 1024);
    const failed = flow?.uplink as string;
    await lab.fault(LINK_OF[failed] as string, kind);
    const faultAt = Date.now();
    const d = await done;
    return { d, failed, flow: flow?.id, faultAt };
  }

  test('the uplink stalls after 5 MB: curl completes byte-exact, the status shows the migration', async () => {
    const { d, failed, flow } = await downloadThroughFailure('stall', join(dir, 'stall'));
    assert.equal(d.code, 0, `curl failed: ${d.stderr}`);
    assert.equal(d.length, SIZE);
    assert.equal(d.sha256, expectedSha);
    const s = await fetchGatewayStatus(name);
    const up = s.uplinks.find((u) => u.name === failed);
    assert.equal(up?.state, 'down', 'the stalled uplink is down');
    assert.equal(up?.failures, 1);
    const m = s.migrations.find((x) => x.flow === flow);
    assert.ok(m, `migration of flow ${flow} recorded: ${JSON.stringify(s.migrations)}`);
    assert.equal(m.from, failed);
    assert.notEqual(m.to, failed);
    assert.equal(m.kind, 'range');
    assert.ok(m.offset >= 5 * 1024 * 1024);
    const resumed = origin.events.find(
      (e) => e.event === 'request' && e.range === `bytes=${m.offset}-`,
    );
    assert.ok(resumed, 'the origin saw the Range re-request');
    process.stdout.write(`# stall: recovery ${m.recoveryMs?.toFixed(1)} ms after detection\n`);

    // New flows avoid the failed uplink: six TCP connections, all on the other one.
    const clients = Array.from(
      { length: 6 },
      () => new Probe(lab, 'client', [ORIGIN_IP, '7000'], TCP_CLIENT),
    );
    try {
      await Promise.all(
        clients.map((c) => c.waitFor((e) => e.event === 'connected', 10_000, 'connected')),
      );
      const st = await waitStatus(
        name,
        (x) => x.forwarded.filter((f) => f.server === `${ORIGIN_IP}:7000`).length === 6,
        'six forwarded flows',
      );
      for (const f of st.forwarded)
        assert.notEqual(f.uplink, failed, `${f.client} on the failed uplink`);
    } finally {
      await Promise.all(clients.map((c) => c.stop()));
    }
    await heal(failed);
  });

  test('the uplink goes down (link event): curl completes byte-exact', async () => {
    const before = await fetchGatewayStatus(name);
    const { d, failed, faultAt } = await downloadThroughFailure('down', join(dir, 'down'));
    assert.equal(d.code, 0, `curl failed: ${d.stderr}`);
    assert.equal(d.length, SIZE);
    assert.equal(d.sha256, expectedSha);
    const s = await fetchGatewayStatus(name);
    const down = s.events.find(
      (e) => e.uplink === failed && e.to === 'down' && e.reason === 'link down',
    );
    assert.ok(down, `a link-down event: ${JSON.stringify(s.events)}`);
    process.stdout.write(
      `# link down: declared ${Date.parse(down.at) - faultAt} ms after the fault command returned\n`,
    );
    assert.equal(s.migrations.length, before.migrations.length + 1);
    assert.equal(s.migrations.at(-1)?.from, failed);
    await heal(failed);
  });

  test('every uplink stalls: the live download waits, then moves to the first one back', async () => {
    const before = await fetchGatewayStatus(name);
    // The second uplink first, so that the download starts on the other and, when that one
    // stalls too, there is nowhere to move it.
    const gone = 'b';
    await lab.fault(LINK_OF[gone] as string, 'stall');
    await waitStatus(
      name,
      (st) => st.uplinks.find((u) => u.name === gone)?.state === 'down',
      'b down',
    );
    const done = download(join(dir, 'all-down'));
    const s = await waitStatus(
      name,
      (st) => st.http.some((f) => f.bytesToClient >= 5 * 1024 * 1024),
      'the download past 5 MB',
    );
    const flow = s.http.find((f) => f.bytesToClient >= 5 * 1024 * 1024);
    assert.equal(flow?.uplink, 'a');
    await lab.fault(LINK_OF.a as string, 'stall');
    const both = await waitStatus(
      name,
      (st) => st.uplinks.every((u) => u.state === 'down'),
      'both uplinks down',
    );
    const waiting = both.http.find((f) => f.id === flow?.id);
    assert.ok(waiting, `the flow is still there: ${JSON.stringify(both.http)}`);
    assert.equal(waiting.error, undefined);
    assert.equal(both.migrations.length, before.migrations.length, 'nowhere to go: nothing moved');
    await lab.fault(LINK_OF[gone] as string, 'up');
    const d = await done;
    assert.equal(d.code, 0, `curl failed: ${d.stderr}`);
    assert.equal(d.length, SIZE);
    assert.equal(d.sha256, expectedSha);
    const after = await fetchGatewayStatus(name);
    const m = after.migrations.at(-1);
    assert.equal(m?.flow, flow?.id);
    assert.equal(m?.from, 'a');
    assert.equal(m?.to, gone);
    assert.equal(m?.kind, 'range');
    await heal('a');
  });

  test("the uplink's address changes (renumber): curl completes byte-exact", async () => {
    const before = await fetchGatewayStatus(name);
    const done = download(join(dir, 'renumber'));
    const s = await waitStatus(
      name,
      (st) => st.http.some((f) => f.bytesToClient >= 5 * 1024 * 1024 && f.uplink !== undefined),
      'the download past 5 MB',
    );
    const failed = s.http.find((f) => f.bytesToClient >= 5 * 1024 * 1024)?.uplink as string;
    const moved = await lab.fault(LINK_OF[failed] as string, 'renumber');
    const d = await done;
    assert.equal(d.code, 0, `curl failed: ${d.stderr}`);
    assert.equal(d.length, SIZE);
    assert.equal(d.sha256, expectedSha);
    const after = await waitStatus(
      name,
      (st) => st.uplinks.find((u) => u.name === failed)?.source === moved.to,
      'the new address in status',
    );
    assert.equal(after.migrations.length, before.migrations.length + 1);
    assert.equal(after.migrations.at(-1)?.from, failed);
    // The renumbered uplink carries new flows from its new address.
    const probeOk = await waitStatus(
      name,
      (st) => st.uplinks.every((u) => u.state === 'up' && u.loss < 1),
      'both uplinks up',
    );
    assert.ok(probeOk);
  });

  test('fast reset: a non-HTTP TCP flow on the stalled uplink is reset promptly', async () => {
    const client = new Probe(lab, 'client', [ORIGIN_IP, '7000'], TCP_CLIENT);
    try {
      const c = await client.waitFor((e) => e.event === 'connected', 10_000, 'connected');
      const s = await waitStatus(
        name,
        (x) => x.forwarded.some((f) => f.client.endsWith(`:${c.localPort}`)),
        'the flow in conntrack',
      );
      const flow = s.forwarded.find((f) => f.client.endsWith(`:${c.localPort}`));
      const uplink = flow?.uplink as string;
      const t0 = Date.now();
      await lab.fault(LINK_OF[uplink] as string, 'stall');
      const e: ProbeEvent = await client.waitFor((x) => x.event !== 'connected', 30_000, 'reset');
      assert.equal(e.event, 'error');
      assert.equal(e.code, 'ECONNRESET');
      process.stdout.write(
        `# fast reset: ECONNRESET ${(e.at as number) - t0} ms after the stall began\n`,
      );
      const after = await fetchGatewayStatus(name);
      assert.ok(after.resets >= 1);
      await heal(uplink);
    } finally {
      await client.stop();
    }
  });

  test('roam gateway down after SIGKILL leaves no rule, route or chain behind', async () => {
    const during = hostState(lab);
    assert.ok(
      during.iptables.some((l) => l.includes(`RGW-${name}`)),
      'the gateway had rules',
    );
    await gw.stop('SIGKILL');
    assert.ok(existsSync(gatewayStateDir(name)), 'state survives the crash');
    execFileSync(process.execPath, [CLI, 'gateway', 'down', '--name', name], { stdio: 'inherit' });
    const now = hostState(lab);
    assert.deepEqual(now.iptables, baseline.iptables);
    assert.equal(now.rules, baseline.rules);
    assert.equal(now.routes, baseline.routes);
    assert.equal(existsSync(gatewayStateDir(name)), false, 'state removed');
  });

  test('flags instead of a file; an uplink without an address; SIGTERM restores the namespace', async () => {
    const flagged = `${name.slice(0, 6)}f`;
    // uplink2's modem is not connected yet when the gateway starts.
    await lab.exec('gateway', ['ip', 'addr', 'flush', 'dev', 'uplink2']);
    const g = new GatewayProcess(lab, flagged, [
      '--name',
      flagged,
      '--lan',
      'lan',
      '--uplink',
      'name=a,interface=uplink1,gateway=100.64.1.1,weight=2',
      '--uplink',
      'name=b,interface=uplink2,gateway=100.64.2.1',
      '--probe',
      `${ORIGIN_IP}:9`,
      '--http-port',
      '3130',
      '--no-fast-reset',
    ]);
    try {
      const ready = await g.ready;
      assert.equal(ready.port, 3130);
      const early = await fetchGatewayStatus(flagged);
      assert.deepEqual(
        early.uplinks.map((u) => [u.name, u.state, u.source]),
        [
          ['a', 'up', lab.address('gateway', 'uplink1')],
          ['b', 'down', null],
        ],
      );
      await lab.fault('uplink2', 'up'); // the modem connects: its address comes back
      const s = await waitStatus(flagged, (x) => x.uplinks.every((u) => u.state === 'up'), 'up');
      assert.deepEqual(
        s.uplinks.map((u) => [u.name, u.weight, u.source]),
        [
          ['a', 2, lab.address('gateway', 'uplink1')], // after the renumber above
          ['b', 1, lab.address('gateway', 'uplink2')],
        ],
      );
      assert.equal(s.settings.fastReset, false);
      const d = await download(join(dir, 'flags'));
      assert.equal(d.sha256, expectedSha);
      await g.stop('SIGTERM');
      assert.equal(await g.exited, 0);
    } finally {
      await g.stop('SIGKILL');
      execFileSync(process.execPath, [CLI, 'gateway', 'down', '--name', flagged], {
        stdio: 'ignore',
      });
    }
    const now = hostState(lab);
    assert.deepEqual(now.iptables, baseline.iptables);
    assert.equal(now.rules, baseline.rules);
    assert.equal(now.routes, baseline.routes);
    assert.equal(existsSync(gatewayStateDir(flagged)), false, 'state removed');
  });
});
