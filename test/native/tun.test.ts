import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { test } from 'node:test';
import { isRoamError } from '../../src/errors.js';
import { closeTun, openTun } from '../../src/tun/device.js';

const isRoot = process.getuid?.() === 0;
const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });
const ownNetns = () => readlinkSync('/proc/thread-self/ns/net');

test('bad interface names are rejected before touching the kernel', () => {
  for (const name of ['', 'a'.repeat(16), 'bad/name', 'sp ace', 'ü', '..']) {
    assert.throws(
      () => openTun({ name, mode: 'tap' }),
      (err) => isRoamError(err, 'ROAM_BAD_INPUT') && /interface name/.test(err.message),
      JSON.stringify(name),
    );
  }
});

test('opening in a namespace that does not exist is a ROAM_TUN_OPEN error', () => {
  const before = ownNetns();
  assert.throws(
    () =>
      openTun({
        name: 'roamt0',
        mode: 'tun',
        netns: `roamt-missing-${randomBytes(4).toString('hex')}`,
      }),
    (err) => isRoamError(err, 'ROAM_TUN_OPEN') && /does not exist/.test(err.message),
  );
  assert.equal(ownNetns(), before);
});

test('tun and tap devices are created in the given namespace', (t) => {
  if (!isRoot) return t.skip('needs root: creates network namespaces and tun devices');
  const ns = `roamt-${randomBytes(4).toString('hex')}`;
  ip('netns', 'add', ns);
  t.after(() => ip('netns', 'del', ns));
  const before = ownNetns();

  const tun = openTun({ name: 'roamtun0', mode: 'tun', netns: ns });
  t.after(() => closeTun(tun));
  const tap = openTun({ name: 'roamtap0', mode: 'tap', netns: ns, txQueueLen: 4321 });
  t.after(() => closeTun(tap));
  assert.equal(ownNetns(), before, 'the calling thread is back in its own namespace');
  assert.deepEqual({ name: tun.name, mode: tun.mode }, { name: 'roamtun0', mode: 'tun' });
  assert.ok(tun.fd > 2 && tap.fd > 2);

  assert.match(ip('-n', ns, 'link', 'show', 'roamtun0'), /roamtun0: <POINTOPOINT/);
  assert.match(ip('-n', ns, '-d', 'link', 'show', 'roamtap0'), /qlen 4321[\s\S]*tun type tap/);
  assert.throws(() => ip('link', 'show', 'roamtun0'), 'not in our own namespace');

  closeTun(tun);
  closeTun(tun); // idempotent
  assert.throws(() => ip('-n', ns, 'link', 'show', 'roamtun0'), 'gone once its fd closes');
});

test('kernel refusals come back as ROAM_TUN_OPEN and leave our namespace alone', (t) => {
  if (!isRoot) return t.skip('needs root: creates network namespaces and tun devices');
  const ns = `roamt-${randomBytes(4).toString('hex')}`;
  ip('netns', 'add', ns);
  t.after(() => ip('netns', 'del', ns));
  const before = ownNetns();
  assert.throws(
    () => openTun({ name: 'lo', mode: 'tap', netns: ns }),
    (err) => isRoamError(err, 'ROAM_TUN_OPEN') && /EINVAL.*not a tun\/tap/.test(err.message),
  );
  const tap = openTun({ name: 'roamdup0', mode: 'tap', netns: ns });
  t.after(() => closeTun(tap));
  assert.throws(
    () => openTun({ name: 'roamdup0', mode: 'tap', netns: ns }),
    (err) => isRoamError(err, 'ROAM_TUN_OPEN') && /EBUSY/.test(err.message),
  );
  assert.equal(ownNetns(), before);
});
