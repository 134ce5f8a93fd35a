import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gatewayConfigFromFlags } from '../../src/cli/gateway-config.js';
import { isRoamError } from '../../src/errors.js';
import { loadGatewayConfig } from '../../src/gateway/config/load.js';
import { parseFault } from '../../src/lab/fault/fault.js';
import { parseTopology } from '../../src/lab/topology/load.js';
import { packageRoot } from '../../src/package-root.js';

// Issue 18, points 3, 6 and 12: one schema per input (validate and use agree), one rate
// parser, and every error one line naming the field, the rule and what was given.

const CLI = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'roam-newcomer-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function roam(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
    cwd: dir,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function file(name: string, text: string): string {
  writeFileSync(join(dir, name), text);
  return name; // the CLI runs in `dir`: errors name the file as the user typed it
}

/** exit status, and stderr as exactly one line. */
function oneLine(r: { code: number | null; stderr: string }, code: number, line: string): void {
  assert.equal(r.stderr, `${line}\n`);
  assert.equal(r.code, code);
}

const LINK = '{ name: l, a: { host: a, ip: 10.0.0.1/24 }, b: { host: b, ip: 10.0.0.2/24 } }';
const topo = (schedule: string, link = LINK) =>
  `hosts: { a: {}, b: {} }\nlinks:\n  - ${link}\nschedule:\n${schedule}`;

test('lab validate refuses what lab schedule would refuse: a fault with no value, 10 msec', () => {
  const noValue = file('no-value.yaml', topo('  - { at: 1s, link: l, fault: loss }\n'));
  oneLine(
    roam('lab', 'validate', noValue),
    1,
    'roam: no-value.yaml: schedule[0].value: fault "loss" needs a value, e.g. `loss 0.02` [ROAM_LAB_TOPOLOGY]',
  );
  const msec = file('msec.yaml', topo('  - { at: 1s, link: l, fault: delay, value: 10 msec }\n'));
  oneLine(
    roam('lab', 'validate', msec),
    1,
    'roam: msec.yaml: schedule[0].value: fault "delay": duration "10 msec" is not understood; use e.g. "10ms" (units: ms, s, m, us) [ROAM_LAB_TOPOLOGY]',
  );
  // The same words come from the parser `lab fault` and `lab schedule` use.
  assert.throws(
    () => parseFault('delay', '10 msec'),
    (e) =>
      isRoamError(e, 'ROAM_BAD_INPUT') &&
      e.message ===
        'fault "delay": duration "10 msec" is not understood; use e.g. "10ms" (units: ms, s, m, us)',
  );
  const ok = file('ok.yaml', topo('  - { at: 1s, link: l, fault: delay, value: 10ms }\n'));
  assert.equal(roam('lab', 'validate', ok).code, 0);
});

test('gateway validate and gateway up agree on a config without probes (it has a default)', () => {
  const path = file(
    'gw.yaml',
    'name: g\nlan: { interface: lan0 }\nuplinks:\n  - { name: a, interface: up1, gateway: 10.0.0.1 }\n',
  );
  assert.equal(roam('gateway', 'validate', path).stdout, `${path}: ok (gateway g, 1 uplinks)\n`);
  const flags = { uplink: [], probe: [], intercept: true, splice: true, fastReset: true };
  const up = gatewayConfigFromFlags({ ...flags, config: join(dir, path) });
  assert.deepEqual(up, loadGatewayConfig(join(dir, path)));
  assert.deepEqual(up.probes, { targets: [], intervalMs: 100 });
  // Flags still override the file, through the same schema.
  const named = gatewayConfigFromFlags({
    ...flags,
    config: join(dir, path),
    name: 'h',
    stallMs: '2000',
  });
  assert.equal(named.name, 'h');
  assert.equal(named.health.stallMs, 2000);
  assert.throws(
    () => gatewayConfigFromFlags({ ...flags, config: join(dir, path), name: 'Not-Short' }),
    (e) =>
      isRoamError(e, 'ROAM_BAD_INPUT') &&
      e.message ===
        `${join(dir, path)}: name: must be 1 to 8 lowercase letters or digits, got "Not-Short"`,
  );
});

test('rates: one parser; 0 refused and unlimited accepted in a file and in a fault alike; mbps refused', () => {
  const withRate = (rate: string) =>
    `hosts: { a: {}, b: {} }\nlinks:\n  - { name: l, a: { host: a, ip: 10.0.0.1/24 }, b: { host: b, ip: 10.0.0.2/24 }, rate: ${rate} }\n`;
  const zero = 'rate 0 would be a stall; use the stall fault, or "unlimited" for no limit';
  oneLine(
    roam('lab', 'validate', file('zero.yaml', withRate('0'))),
    1,
    `roam: zero.yaml: links[0].rate: ${zero} [ROAM_LAB_TOPOLOGY]`,
  );
  assert.throws(
    () => parseFault('rate', '0'),
    (e) => isRoamError(e, 'ROAM_BAD_INPUT') && e.message === `fault "rate": ${zero}`,
  );
  const unlimited = parseTopology({
    hosts: { a: {}, b: {} },
    links: [
      {
        ...JSON.parse('{}'),
        name: 'l',
        a: { host: 'a', ip: '10.0.0.1/24' },
        b: { host: 'b', ip: '10.0.0.2/24' },
        rate: 'unlimited',
      },
    ],
  });
  assert.equal(unlimited.links[0]?.up.rateBps, Number.POSITIVE_INFINITY);
  assert.deepEqual(parseFault('rate', 'unlimited'), {
    kind: 'rate',
    direction: 'both',
    bps: Number.POSITIVE_INFINITY,
  });
  const mbps =
    'rate "20mbps" is ambiguous: tc reads mbps as megabytes per second; write "20mbit" for 20 Mbit/s';
  oneLine(
    roam('lab', 'validate', file('mbps.yaml', withRate('20mbps'))),
    1,
    `roam: mbps.yaml: links[0].rate: ${mbps} [ROAM_LAB_TOPOLOGY]`,
  );
  assert.throws(
    () => parseFault('rate', '20mbps'),
    (e) => isRoamError(e, 'ROAM_BAD_INPUT') && e.message === `fault "rate": ${mbps}`,
  );
  assert.deepEqual(parseFault('rate', '20mbit'), { kind: 'rate', direction: 'both', bps: 20e6 });
});

test('unknown keys are errors that name them and suggest the nearest valid name', () => {
  const link =
    '{ name: l, a: { host: a, ip: 10.0.0.1/24 }, b: { host: b, ip: 10.0.0.2/24 }, rtae: 10mbit }';
  oneLine(
    roam(
      'lab',
      'validate',
      file('typo.yaml', topo('  - { at: 1s, link: l, fualt: loss }\n', link)),
    ),
    1,
    'roam: typo.yaml: links[0].rtae: unknown field; did you mean "rate"?; schedule[0].fault: is required; schedule[0].fualt: unknown field; did you mean "fault"? [ROAM_LAB_TOPOLOGY]',
  );
  const gw = file(
    'gw-typo.yaml',
    'name: g\nlan: { interface: lan0 }\nuplinks:\n  - { name: a, interface: up1, gateway: 10.0.0.1, wieght: 2 }\nprobe: {}\n',
  );
  oneLine(
    roam('gateway', 'validate', gw),
    1,
    'roam: gw-typo.yaml: uplinks[0].wieght: unknown field; did you mean "weight"?; probe: unknown field; did you mean "probes"? [ROAM_BAD_INPUT]',
  );
  const far = file('far.yaml', 'name: g\nlan: { interface: lan0, colour: red }\nuplinks: []\n');
  oneLine(
    roam('gateway', 'validate', far),
    1,
    'roam: far.yaml: lan.colour: unknown field; valid fields: interface; uplinks: must have a number of entries >= 1, got 0 entries [ROAM_BAD_INPUT]',
  );
});

test('error lines: YAML syntax on one line, "required", usage errors exit 2 in the unit given', () => {
  oneLine(
    roam('lab', 'validate', file('broken.yaml', 'hosts: { a: {}\nlinks: [\n')),
    1,
    'roam: broken.yaml:2:1: not valid YAML/JSON: Flow map in block collection must be sufficiently indented and end with a } [ROAM_LAB_TOPOLOGY]',
  );
  oneLine(
    roam(
      'gateway',
      'validate',
      file('missing.yaml', 'lan: { interface: lan0 }\nuplinks:\n  - { name: a, interface: up1 }\n'),
    ),
    1,
    'roam: missing.yaml: name: is required; uplinks[0].gateway: is required [ROAM_BAD_INPUT]',
  );
  oneLine(
    roam('gateway', 'up'),
    2,
    'roam: gateway up needs --config FILE, or --name NAME --lan IFNAME --uplink SPEC (see roam gateway up --help) [ROAM_USAGE]',
  );
  oneLine(
    roam('names', 'serve', '--port', 'abc'),
    2,
    'roam: --port must be a TCP port 0..65535, got "abc" [ROAM_USAGE]',
  );
  oneLine(
    roam('names', 'publish', 'bob@example.com', '--key', 'k.pem', '--ttl', '99999999'),
    2,
    'roam: --ttl must be a whole number of seconds within 1..2592000, got "99999999" [ROAM_USAGE]',
  );
  oneLine(
    roam('names', 'serve', '--store', 'memory', '--db', 'x.db'),
    2,
    'roam: --db is for --store sqlite; --store memory keeps no file (got --db x.db) [ROAM_USAGE]',
  );
  oneLine(
    roam('gateway', 'up', '--name', 'g', '--stall-ms', 'soon'),
    2,
    'roam: --stall-ms must be a whole number of ms within 50..600000, got "soon" [ROAM_USAGE]',
  );
});
