// `roam gateway up` is atomic (issue 18): when a step of its routing plan fails, what it
// applied is undone, the gateway's namespace is exactly as before (addresses, routes of
// every table, rules, qdiscs, iptables, the sysctls it sets), and the error says so.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Lab } from '../../src/lab/lab.js';
import { netSnapshot, snapshotDifference } from '../../src/lab/fault/snapshot.js';
import { ruleLines } from '../../src/gateway/routing/host-snapshot.js';
import { packageRoot } from '../../src/package-root.js';
import { labSkipReason } from '../lab/lab-support.js';
import { gatewayConfig } from './lab/roam-gateway.js';
import { gatewayTopology } from './lab/topology.js';

const CLI = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');
const skip = labSkipReason();

async function hostState(lab: Lab): Promise<string> {
  const net = await netSnapshot([lab.ns('gateway')]);
  // iptables' rules and chains of its own (a table that merely got loaded changes nothing).
  const rules = ruleLines((await lab.exec('gateway', ['iptables-save'])).stdout);
  const sysctls = (
    await lab.exec('gateway', [
      'sysctl',
      'net.ipv4.ip_forward',
      'net.ipv4.conf.all.rp_filter',
      'net.ipv4.conf.upa.rp_filter',
      'net.ipv4.conf.upb.rp_filter',
    ])
  ).stdout;
  return JSON.stringify({ net, rules, sysctls });
}

test(
  'gateway up: a failing step is undone, the host is as it was, and the error says so',
  { skip },
  async (t) => {
    const lab = await Lab.up(gatewayTopology({ rttMs: 10, name: 'gw-atomic' }));
    t.after(() => lab.down());
    const dir = mkdtempSync(join(tmpdir(), 'roam-gw-atomic-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const before = await hostState(lab);
    const beforeNet = await netSnapshot([lab.ns('gateway')]);
    // Uplink b's next hop is not on its link: the kernel refuses that route, a step well into
    // the plan (after rules and uplink a's table).
    const config = gatewayConfig('atomic', { mode: 'splice' });
    const uplinks = config.uplinks as Record<string, unknown>[];
    uplinks[1] = { ...uplinks[1], gateway: '100.64.99.1' };
    const file = join(dir, 'gateway.json');
    writeFileSync(file, JSON.stringify(config));
    const r = await lab.exec(
      'gateway',
      [process.execPath, CLI, 'gateway', 'up', '--config', file],
      {
        mayFail: true,
      },
    );
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(
      lines[0] ?? '',
      /^roam: gateway atomic did not come up: .*100\.64\.99\.1.*; everything it applied was undone, the host is as it was \[ROAM_GATEWAY_COMMAND\]$/,
    );
    assert.equal(snapshotDifference(beforeNet, await netSnapshot([lab.ns('gateway')])), undefined);
    assert.equal(await hostState(lab), before);
  },
);
