import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { linkDownNow } from '../../src/gateway/daemon/link-state.js';

test('linkDownNow reads IFF_UP and the operational state from sysfs', (t) => {
  const sysfs = mkdtempSync(join(tmpdir(), 'roam-sysfs-'));
  t.after(() => rmSync(sysfs, { recursive: true, force: true }));
  const dev = (name: string, flags: string, operstate: string): void => {
    mkdirSync(join(sysfs, name));
    writeFileSync(join(sysfs, name, 'flags'), `${flags}\n`);
    writeFileSync(join(sysfs, name, 'operstate'), `${operstate}\n`);
  };
  dev('up0', '0x1003', 'up');
  dev('admin0', '0x1002', 'down'); // `ip link set down`: IFF_UP cleared
  dev('carrier0', '0x1003', 'lowerlayerdown'); // up, but its peer or carrier is gone
  dev('tun0', '0x1091', 'unknown'); // tun devices report no operational state
  assert.equal(linkDownNow('up0', sysfs), false);
  assert.equal(linkDownNow('admin0', sysfs), true);
  assert.equal(linkDownNow('carrier0', sysfs), true);
  assert.equal(linkDownNow('tun0', sysfs), false);
  assert.equal(linkDownNow('missing0', sysfs), false, 'cannot tell: left to the full read');
});
