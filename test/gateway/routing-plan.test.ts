import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseGatewayConfig } from '../../src/gateway/config/index.js';
import type { Command } from '../../src/gateway/routing/command.js';
import {
  chainNames,
  markMask,
  pickCommand,
  resetCommand,
  resetMark,
  setupCommands,
  teardownCommands,
  uplinkMark,
  uplinkRouteCommands,
  uplinkRuleCommands,
} from '../../src/gateway/routing/plan.js';

const config = parseGatewayConfig({
  name: 'bus',
  lan: { interface: 'lan0' },
  uplinks: [
    { name: 'a', interface: 'wwan0', gateway: '10.0.0.1', weight: 1 },
    { name: 'b', interface: 'wwan1', gateway: '10.1.0.1', weight: 3 },
    { name: 'c', interface: 'wwan2', gateway: '10.2.0.1', weight: 4 },
  ],
});
const line = (c: Command) => c.argv.join(' ');
const ipt = (c: Command) =>
  c.argv.slice(0, 5).join(' ') === 'iptables -w 5 -t' ? c.argv.slice(5) : undefined;

test('setup: MASQUERADE on each uplink, REDIRECT of the LAN port 80 to the engine, one jump per builtin chain', () => {
  const cmds = setupCommands(config).map(line);
  const c = chainNames(config);
  for (const dev of ['wwan0', 'wwan1', 'wwan2']) {
    assert.ok(cmds.includes(`iptables -w 5 -t nat -A ${c.nat} -o ${dev} -j MASQUERADE`), dev);
  }
  assert.ok(cmds.includes(`iptables -w 5 -t nat -A ${c.http} -p tcp -j REDIRECT --to-ports 3129`));
  assert.ok(
    cmds.includes(`iptables -w 5 -t nat -I PREROUTING 1 -i lan0 -p tcp --dport 80 -j ${c.http}`),
  );
  assert.ok(cmds.includes(`iptables -w 5 -t mangle -I PREROUTING 1 -i lan0 -j ${c.pre}`));
  assert.ok(cmds.includes(`iptables -w 5 -t filter -I FORWARD 1 -i lan0 -j ${c.rst}`));
  // Without interception and fast reset: no REDIRECT, no reset path.
  const plain = setupCommands({
    ...config,
    http: { ...config.http, intercept: false },
    fastReset: false,
  }).map(line);
  assert.equal(plain.filter((l) => l.includes('REDIRECT') || l.includes('REJECT')).length, 0);
  assert.equal(plain.filter((l) => l.includes('--dport 80')).length, 0);
});

test('teardown removes every chain, jump, rule and table that setup and the uplinks add', () => {
  const teardown = teardownCommands(config);
  assert.ok(
    teardown.every((c) => c.mayFail),
    'every removal may find it gone already',
  );
  const down = teardown.map(line);
  const added = [
    ...setupCommands(config),
    ...config.uplinks.flatMap((u, i) => [
      ...uplinkRouteCommands(config, i, u, { source: `10.${i}.0.2`, prefixLen: 24 }),
      ...uplinkRuleCommands(config, i, `10.${i}.0.2`),
    ]),
  ];
  for (const c of added) {
    const args = ipt(c);
    if (args) {
      const [table, op, chain, ...rest] = args;
      if (op === '-N')
        assert.ok(down.includes(`iptables -w 5 -t ${table} -X ${chain}`), `chain ${chain}`);
      if (op === '-I') {
        const spec = rest.slice(1).join(' '); // drop the position
        assert.ok(
          down.includes(`iptables -w 5 -t ${table} -D ${chain} ${spec}`),
          `jump ${chain} ${spec}`,
        );
      }
      if (op === '-A') {
        assert.ok(
          down.includes(`iptables -w 5 -t ${table} -F ${chain}`),
          `rules of ${chain} flushed`,
        );
      }
      continue;
    }
    const a = c.argv;
    if (a[0] === 'ip' && a[1] === 'rule' && a[2] === 'add') {
      const prio = a[a.indexOf('priority') + 1];
      assert.ok(down.includes(`ip rule del priority ${prio}`), `rule ${prio}`);
    }
    if (a[0] === 'ip' && a[1] === 'route' && a[2] === 'replace') {
      const table = a[a.indexOf('table') + 1];
      assert.ok(down.includes(`ip route flush table ${table}`), `table ${table}`);
    }
  }
});

test('uplink tables: subnet, default via the next hop, unreachable fallback; rules by source and mark', () => {
  const b = config.uplinks[1];
  assert.ok(b);
  const routes = uplinkRouteCommands(config, 1, b, {
    source: '10.1.0.2',
    prefixLen: 24,
  }).map(line);
  assert.deepEqual(routes, [
    'ip route replace unreachable default metric 4096 table 201',
    'ip route replace 10.1.0.0/24 dev wwan1 src 10.1.0.2 table 201',
    'ip route replace default via 10.1.0.1 dev wwan1 table 201',
  ]);
  const rules = uplinkRuleCommands(config, 1, '10.1.0.2')
    .filter((c) => !c.mayFail)
    .map(line);
  assert.deepEqual(rules, [
    'ip rule add from 10.1.0.2 lookup 201 priority 501',
    'ip rule add fwmark 0x20000/0xff0000 lookup 201 priority 551',
  ]);
});

test('marks are distinct, inside the mask, and the reset mark is none of them', () => {
  const marks = config.uplinks.map((_, i) => uplinkMark(config, i));
  assert.equal(new Set(marks).size, marks.length);
  for (const m of marks) assert.equal((m & markMask(config)) >>> 0, m);
  assert.ok(!marks.includes(resetMark(config)));
});

/** Probability each rule of the pick chain marks a new connection (rules run in order). */
function shares(input: string): Map<string, number> {
  const out = new Map<string, number>();
  let left = 1;
  for (const l of input.split('\n').filter((x) => x.startsWith('-A '))) {
    const p = Number(/--probability ([\d.]+)/.exec(l)?.[1] ?? 1);
    const mark = /--set-xmark (0x[0-9a-f]+)/.exec(l)?.[1] as string;
    out.set(mark, left * p);
    left *= 1 - p;
  }
  return out;
}

test('balancing: new connections split by weight among the healthy uplinks, in one transaction', () => {
  const all = pickCommand(config, ['a', 'b', 'c']);
  assert.deepEqual(all.argv, ['iptables-restore', '-w', '5', '--noflush']);
  const s = shares(all.input as string);
  const hx = (i: number) => `0x${uplinkMark(config, i).toString(16)}`;
  assert.ok(Math.abs((s.get(hx(0)) ?? 0) - 1 / 8) < 1e-5);
  assert.ok(Math.abs((s.get(hx(1)) ?? 0) - 3 / 8) < 1e-5);
  assert.ok(Math.abs((s.get(hx(2)) ?? 0) - 4 / 8) < 1e-5);
  const two = shares(pickCommand(config, ['a', 'c']).input as string);
  assert.deepEqual([...two.keys()], [hx(0), hx(2)]);
  assert.ok(Math.abs((two.get(hx(0)) ?? 0) - 1 / 5) < 1e-5);
  const none = pickCommand(config, []).input as string;
  assert.match(none, /^\*mangle\n-F RGW-bus-PICK\nCOMMIT\n$/);
});

test('reset rules: connections marked for failed uplinks get the reset mark', () => {
  const input = resetCommand(config, ['b']).input as string;
  const rules = input.split('\n').filter((l) => l.startsWith('-A '));
  assert.equal(rules.length, 1);
  assert.match(
    rules[0] as string,
    /--mark 0x20000\/0xff0000 -j MARK --set-xmark 0xff0000\/0xff0000$/,
  );
  assert.equal(resetCommand(config, []).input, '*mangle\n-F RGW-bus-DEAD\nCOMMIT\n');
});
