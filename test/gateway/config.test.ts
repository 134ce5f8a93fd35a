import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  loadGatewayConfig,
  parseGatewayConfig,
  parseUplinkFlag,
} from '../../src/gateway/config/index.js';
import { isRoamError } from '../../src/errors.js';

const minimal = {
  name: 'bus',
  lan: { interface: 'lan' },
  uplinks: [
    { name: 'a', interface: 'wwan0', gateway: '10.0.0.1' },
    { name: 'b', interface: 'wwan1', gateway: '10.1.0.1', weight: 3, source: '10.1.0.2' },
  ],
};

function refused(input: unknown, field: string): void {
  assert.throws(
    () => parseGatewayConfig(input, 'gw.yaml'),
    (err: unknown) => {
      assert.ok(isRoamError(err, 'ROAM_BAD_INPUT'), String(err));
      assert.match(
        err.message,
        new RegExp(`^gw\\.yaml: .*${field.replace(/[[\]().]/g, '\\$&')}: `),
      );
      return true;
    },
  );
}

test('defaults fill every optional field', () => {
  const c = parseGatewayConfig(minimal);
  assert.deepEqual(c.health, { stallMs: 1000, suspectMs: 500, recoverProbes: 3 });
  assert.deepEqual(c.http, { intercept: true, port: 3129, splice: true, spares: 64 });
  assert.equal(c.fastReset, true);
  assert.deepEqual(c.routing, { tableBase: 200, rulePriority: 500, markShift: 16 });
  assert.deepEqual(c.probes, { targets: [], intervalMs: 100 });
  assert.equal(c.uplinks[0]?.weight, 1);
  assert.equal(c.uplinks[0]?.source, undefined);
  assert.equal(c.uplinks[1]?.source, '10.1.0.2');
});

test('probe targets are parsed to host and port', () => {
  const c = parseGatewayConfig({
    ...minimal,
    probes: { targets: ['203.0.113.10:80', '1.1.1.1:443'] },
  });
  assert.deepEqual(c.probes.targets, [
    { host: '203.0.113.10', port: 80 },
    { host: '1.1.1.1', port: 443 },
  ]);
});

test('errors name the field', () => {
  refused({ ...minimal, name: 'Bad Name' }, 'name');
  refused(
    { ...minimal, uplinks: [{ ...minimal.uplinks[0], gateway: '10.0.0' }] },
    'uplinks[0].gateway',
  );
  refused(
    { ...minimal, uplinks: [minimal.uplinks[0], { ...minimal.uplinks[1], name: 'a' }] },
    'uplinks[1].name',
  );
  refused(
    { ...minimal, uplinks: [{ ...minimal.uplinks[0], interface: 'lan' }] },
    'uplinks[0].interface',
  );
  refused({ ...minimal, uplinks: [] }, 'uplinks');
  refused({ ...minimal, probes: { targets: ['example.com:80'] } }, 'probes.targets[0]');
  refused({ ...minimal, health: { stallMs: 1000, suspectMs: 1000 } }, 'health.suspectMs');
  refused(
    { ...minimal, probes: { targets: ['1.1.1.1:80'], intervalMs: 600 } },
    'probes.intervalMs',
  );
  refused({ ...minimal, http: { port: 70000 } }, 'http.port');
  refused({ ...minimal, colour: 'red' }, 'colour');
});

test('a file: YAML is read, unreadable or invalid files are ROAM_BAD_INPUT', () => {
  const dir = mkdtempSync(join(tmpdir(), 'roam-gwcfg-'));
  try {
    const file = join(dir, 'gw.yaml');
    writeFileSync(
      file,
      'name: bus\nlan: { interface: lan }\nuplinks:\n  - { name: a, interface: wwan0, gateway: 10.0.0.1 }\n',
    );
    assert.equal(loadGatewayConfig(file).uplinks[0]?.interface, 'wwan0');
    writeFileSync(file, 'name: [unclosed');
    assert.throws(
      () => loadGatewayConfig(file),
      (e: unknown) => isRoamError(e, 'ROAM_BAD_INPUT'),
    );
    assert.throws(
      () => loadGatewayConfig(join(dir, 'missing.yaml')),
      (e: unknown) => isRoamError(e, 'ROAM_BAD_INPUT'),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--uplink flags become uplink objects', () => {
  assert.deepEqual(parseUplinkFlag('name=a,interface=wwan0,gateway=10.0.0.1,weight=2'), {
    name: 'a',
    interface: 'wwan0',
    gateway: '10.0.0.1',
    weight: 2,
  });
  assert.throws(
    () => parseUplinkFlag('name=a,wwan0'),
    (e: unknown) => isRoamError(e, 'ROAM_BAD_INPUT'),
  );
});

test('the shipped lab config is valid', () => {
  const c = loadGatewayConfig(join(process.cwd(), 'examples', 'gateway', 'lab.yaml'));
  assert.deepEqual(
    c.uplinks.map((u) => u.interface),
    ['uplink1', 'uplink2'],
  );
});
