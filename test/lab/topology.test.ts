import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isRoamError } from '../../src/errors.js';
import { parseFault } from '../../src/lab/fault/fault.js';
import { labNames } from '../../src/lab/plan/names.js';
import { planUp } from '../../src/lab/plan/up.js';
import { loadTopology, parseTopology } from '../../src/lab/topology/load.js';

const valid = () => ({
  hosts: { client: {}, router: { forward: true }, server: {} },
  links: [
    {
      name: 'wifi',
      a: { host: 'client', ip: '10.1.0.2/24', gateway: '10.1.0.1' },
      b: { host: 'router', ip: '10.1.0.1/24' },
      rate: '20mbit',
      delay: '10ms',
    },
    {
      name: 'srv',
      a: { host: 'router', ip: '10.9.0.1/24', nat: true },
      b: { host: 'server', ip: '10.9.0.2/24' },
    },
  ],
});

function rejects(input: unknown, pattern: RegExp): void {
  assert.throws(
    () => parseTopology(input, 'test.yaml'),
    (err: unknown) => isRoamError(err, 'ROAM_LAB_TOPOLOGY') && pattern.test(err.message),
  );
}

test('a valid topology is normalized: units resolved, defaults filled', () => {
  const t = parseTopology(valid());
  const wifi = t.links[0];
  assert.ok(wifi);
  assert.equal(wifi.up.rateBps, 20e6);
  assert.equal(wifi.down.delayMs, 10);
  assert.equal(wifi.a.ifname, 'wifi');
  assert.equal(wifi.queuePackets, 1000);
  assert.equal(t.links[1]?.up.rateBps, Number.POSITIVE_INFINITY);
  assert.equal(t.links[1]?.a.nat, true);
});

test('per-direction settings override the link', () => {
  const input = valid();
  Object.assign(input.links[0] as object, {
    up: { rate: '5mbit', loss: '2%' },
    down: { delay: 30 },
  });
  const wifi = parseTopology(input).links[0];
  assert.equal(wifi?.up.rateBps, 5e6);
  assert.equal(wifi?.up.loss, 0.02);
  assert.equal(wifi?.up.delayMs, 10);
  assert.equal(wifi?.down.delayMs, 30);
  assert.equal(wifi?.down.rateBps, 20e6);
});

test('errors name the offending field', () => {
  const bad = (mutate: (t: ReturnType<typeof valid>) => void) => {
    const t = valid();
    mutate(t);
    return t;
  };
  rejects(
    bad((t) => Object.assign(t.links[0]?.a as object, { ip: '10.1.0.300/24' })),
    /links\[0\]\.a\.ip: must be an IPv4 address/,
  );
  rejects(
    bad((t) => Object.assign(t.links[0]?.a as object, { host: 'laptop' })),
    /links\[0\]\.a\.host: unknown host "laptop"/,
  );
  rejects(
    bad((t) => Object.assign(t.links[0] as object, { rate: '20 furlongs' })),
    /links\[0\]\.rate: rate "20 furlongs" is not understood/,
  );
  rejects(
    bad((t) => Object.assign(t.links[0] as object, { loss: 2 })),
    /links\[0\]\.loss: loss must be a probability/,
  );
  rejects(
    bad((t) => Object.assign(t.links[0]?.a as object, { gateway: '10.2.0.1' })),
    /links\[0\]\.a\.gateway: gateway 10\.2\.0\.1 is not in/,
  );
  rejects(
    bad((t) => Object.assign(t.links[1]?.b as object, { ip: '10.8.0.2/24' })),
    /links\[1\]\.b\.ip: .* same subnet/,
  );
  rejects(
    bad((t) => Object.assign(t.links[1] as object, { name: 'wifi' })),
    /links\[1\]\.name: duplicate link name/,
  );
  rejects(
    bad((t) => Object.assign(t.links[0] as object, { colour: 'red' })),
    /links\[0\]\.colour: unknown field; valid fields: name, a, b, rate,/,
  );
  rejects(
    bad((t) => Object.assign(t.links[0]?.a as object, { ip: '10.1.0.0/24' })),
    /links\[0\]\.a\.ip: is the network or broadcast/,
  );
  rejects(
    bad((t) => Object.assign(t, { schedule: [{ at: '1s', link: 'nope', fault: 'stall' }] })),
    /schedule\[0\]\.link: unknown link "nope"/,
  );
  rejects(
    bad((t) => Object.assign(t, { schedule: [{ at: '1s', link: 'wifi', fault: 'explode' }] })),
    /schedule\[0\]\.fault/,
  );
  rejects({ hosts: {}, links: [] }, /links: /);
  rejects('just a string', /\(top level\)/);
});

test('two interfaces of one host need distinct names', () => {
  const t = valid();
  t.links.push({
    name: 'cell',
    a: { host: 'client', ip: '10.2.0.2/24', gateway: '10.2.0.1' },
    b: { host: 'router', ip: '10.2.0.1/24' },
    rate: '8mbit',
    delay: '40ms',
  });
  assert.equal(parseTopology(t).links.length, 3);
  Object.assign(t.links[2]?.a as object, { ifname: 'wifi' });
  rejects(t, /links\[2\]\.a\.ifname: host "client" already has an interface "wifi"/);
});

test('files: YAML syntax errors and missing files are clear', () => {
  const dir = mkdtempSync(join(tmpdir(), 'roam-topo-'));
  const broken = join(dir, 'broken.yaml');
  writeFileSync(broken, 'hosts: [unclosed\n');
  assert.throws(
    () => loadTopology(broken),
    (e: unknown) => isRoamError(e, 'ROAM_LAB_TOPOLOGY') && /not valid YAML/.test(e.message),
  );
  assert.throws(
    () => loadTopology(join(dir, 'missing.yaml')),
    (e: unknown) =>
      isRoamError(e, 'ROAM_LAB_TOPOLOGY') && /cannot read topology file/.test(e.message),
  );
});

test('the shipped example topologies are valid', () => {
  for (const name of ['two-paths', 'bus-gateway']) {
    const t = loadTopology(join('examples', 'topologies', `${name}.yaml`));
    assert.ok(t.links.length >= 3, name);
  }
});

test('the build plan: per-source routing with an unreachable fallback, NAT, shaping in the wire', () => {
  const steps = planUp(parseTopology(valid()), labNames('rl000001')).map((s) => s.argv.join(' '));
  assert.ok(steps.includes('ip netns add rl000001-client'));
  assert.ok(steps.includes('ip netns add rl000001_wifi'));
  assert.ok(
    steps.includes('ip -n rl000001-client rule add from 10.1.0.2 lookup 100 priority 1000'),
  );
  assert.ok(
    steps.includes('ip -n rl000001-client route replace unreachable default metric 4096 table 100'),
  );
  assert.ok(
    steps.some((s) =>
      s.startsWith('tc -n rl000001_wifi qdisc replace dev vb root tbf rate 20000000bit'),
    ),
  );
  assert.ok(
    steps.some((s) =>
      s.startsWith('tc -n rl000001_wifi qdisc replace dev va root tbf rate 20000000bit'),
    ),
  );
  assert.ok(
    steps.includes(
      'ip netns exec rl000001-router iptables -w -t nat -A POSTROUTING -o srv -j MASQUERADE',
    ),
  );
  assert.ok(
    steps.includes(
      'ip netns exec rl000001-router sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.default.send_redirects=0',
    ),
  );
  assert.ok(
    !steps.some((s) => s.includes('rl000001_srv qdisc')),
    'no shaping on an unlimited link',
  );
});

test('faults: values parsed and bad ones rejected with a clear message', () => {
  assert.deepEqual(parseFault('delay', '80ms'), { kind: 'delay', direction: 'both', ms: 80 });
  assert.deepEqual(parseFault('loss', '5%', { direction: 'up' }), {
    kind: 'loss',
    direction: 'up',
    loss: 0.05,
  });
  assert.deepEqual(parseFault('rate', '8mbit'), { kind: 'rate', direction: 'both', bps: 8e6 });
  assert.deepEqual(parseFault('renumber', undefined, { side: 'b' }), {
    kind: 'renumber',
    side: 'b',
    ip: undefined,
    announce: false,
  });
  assert.deepEqual(parseFault('renumber', '10.1.0.9', { announce: true }), {
    kind: 'renumber',
    side: 'a',
    ip: '10.1.0.9',
    announce: true,
  });
  const bad = (kind: string, value: string | undefined, pattern: RegExp) =>
    assert.throws(
      () => parseFault(kind, value),
      (e: unknown) => isRoamError(e, 'ROAM_BAD_INPUT') && pattern.test(e.message),
    );
  bad('delay', undefined, /needs a value/);
  bad('loss', '1.5', /probability/);
  bad('rate', '0', /0 would be a stall/);
  bad('renumber', '10.1.0', /not an IPv4 address/);
  bad('explode', undefined, /unknown fault "explode"/);
});
