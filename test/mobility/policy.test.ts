import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classify, globToRegExp, parsePolicy, sessionPlan } from '../../src/mobility/policy.js';
import { addr } from './mobility-fakes.js';

test('defaults: every address primary, backups on demand after 500 ms', () => {
  const p = parsePolicy(undefined);
  assert.deepEqual(classify(p, addr('eth0', '10.0.0.2')), {
    role: 'primary',
    cost: 0,
    metered: false,
    byteCap: undefined,
    rule: -1,
  });
  assert.equal(p.demandMs, 500);
  assert.equal(p.backupOnDemand, true);
});

test('rules: first match wins, by interface glob, by prefix, or both', () => {
  const p = parsePolicy({
    rules: [
      { interface: 'wl*', prefix: '10.9.0.0/16', role: 'never' },
      { interface: 'wl?0', role: 'primary' },
      { prefix: '10.2.0.0/16', metered: true, byteCap: 1000 },
      { prefix: '2001:db8::/32', role: 'backup', cost: 7 },
    ],
    default: 'never',
  });
  assert.equal(classify(p, addr('wlp0', '10.9.1.1')).role, 'never');
  assert.equal(classify(p, addr('wlp0', '10.1.1.1')).role, 'primary');
  assert.equal(classify(p, addr('wlp0', '10.1.1.1')).rule, 1);
  assert.equal(classify(p, addr('wlan10', '10.1.1.1')).role, 'never', 'wl?0 is one character');
  assert.deepEqual(classify(p, addr('wwan0', '10.2.3.4')), {
    role: 'backup',
    cost: 1,
    metered: true,
    byteCap: 1000,
    rule: 2,
  });
  assert.equal(classify(p, addr('wwan0', '10.3.3.4')).role, 'never', 'default');
  assert.equal(classify(p, addr('x', '2001:db8::5', 64)).cost, 7);
  assert.equal(classify(p, addr('x', '2001:db9::5', 64)).role, 'never');
  // A v4 prefix never matches a v6 address and vice versa.
  assert.equal(
    classify(
      parsePolicy({ rules: [{ prefix: '0.0.0.0/0' }], default: 'never' }),
      addr('x', '::2', 64),
    ).role,
    'never',
  );
});

test('glob: regular-expression characters stand for themselves', () => {
  assert.ok(globToRegExp('eth0.100').test('eth0.100'));
  assert.ok(!globToRegExp('eth0.100').test('eth0x100'));
  assert.ok(globToRegExp('*').test('anything'));
});

test('bad policies are ROAM_BAD_INPUT naming the field', () => {
  const cases: [unknown, RegExp][] = [
    [{ rules: [{ role: 'primary' }] }, /rules\.0: a rule matches by interface, by prefix/],
    [{ rules: [{ interface: 'eth0', role: 'sometimes' }] }, /rules\.0\.role/],
    [{ rules: [{ prefix: '10.0.0.0' }] }, /rules\.0\.prefix: must be an address prefix/],
    [{ rules: [{ prefix: '10.0.0.0/33' }] }, /rules\.0\.prefix/],
    [{ rules: [{ prefix: 'eth0/8' }] }, /rules\.0\.prefix/],
    [{ rules: [{ interface: 'eth0', cost: -1 }] }, /rules\.0\.cost/],
    [{ rules: [{ interface: 'eth0', colour: 'red' }] }, /rules\.0/],
    [{ default: 'maybe' }, /default/],
    [{ demandMs: 0 }, /demandMs/],
    ['primary', /policy/],
  ];
  for (const [input, message] of cases) {
    assert.throws(
      () => parsePolicy(input),
      (err: Error & { code?: string }) =>
        err.code === 'ROAM_BAD_INPUT' && message.test(err.message),
      JSON.stringify(input),
    );
  }
});

test('sessionPlan: primaries preferred, backups switch the scheduler, never left out', () => {
  const p = parsePolicy({
    rules: [
      { interface: 'wifi', role: 'primary' },
      { interface: 'cell', metered: true, byteCap: 5 },
      { interface: 'vpn', role: 'never' },
    ],
    backupOnDemand: false,
  });
  const at = (iface: string, a: string) => ({ address: a, verdict: classify(p, addr(iface, a)) });
  const plan = sessionPlan(p, [
    at('wifi', '10.1.0.2'),
    at('cell', '10.2.0.2'),
    at('vpn', '10.8.0.2'),
  ]);
  assert.equal(plan.useBackupScheduler, true);
  assert.deepEqual(plan.pathPolicy, {
    prefer: ['10.1.0.2'],
    cost: { '10.1.0.2': 0, '10.2.0.2': 1 },
    byteCap: { '10.2.0.2': 5 },
    demandMs: Infinity,
  });
  assert.equal(sessionPlan(p, [at('wifi', '10.1.0.2')]).useBackupScheduler, false);
});
