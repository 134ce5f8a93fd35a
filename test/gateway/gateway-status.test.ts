import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pickWeighted } from '../../src/gateway/daemon/balancer.js';
import { parseGatewayConfig } from '../../src/gateway/config/index.js';
import { forwardedFlows, parseConntrack } from '../../src/gateway/daemon/conntrack.js';
import { monitorLineInterface } from '../../src/gateway/health/link-monitor.js';
import type { GatewayStatus } from '../../src/gateway/status/model.js';
import { formatPrometheus } from '../../src/gateway/status/prometheus.js';
import { formatStatusText } from '../../src/gateway/status/text.js';

test('conntrack lines: the original direction, both directions of bytes, the mark', () => {
  const text = [
    'ipv4     2 tcp      6 431999 ESTABLISHED src=192.168.60.10 dst=203.0.113.10 sport=40000 dport=7000 packets=5 bytes=300 src=203.0.113.10 dst=100.64.1.2 sport=7000 dport=40000 packets=4 bytes=2000 [ASSURED] mark=65536 zone=0 use=2',
    'ipv4     2 udp      17 29 src=192.168.60.10 dst=1.1.1.1 sport=5353 dport=53 packets=1 bytes=60 [UNREPLIED] src=1.1.1.1 dst=100.64.2.2 sport=53 dport=5353 packets=0 bytes=0 mark=131072 zone=0 use=2',
    'ipv6     10 tcp      6 10 CLOSE src=::1 dst=::1 sport=1 dport=2 mark=0 use=1',
    '',
  ].join('\n');
  assert.deepEqual(parseConntrack(text), [
    {
      protocol: 'tcp',
      state: 'ESTABLISHED',
      src: '192.168.60.10',
      dst: '203.0.113.10',
      sport: 40000,
      dport: 7000,
      bytes: 2300,
      mark: 65536,
    },
    {
      protocol: 'udp',
      state: undefined,
      src: '192.168.60.10',
      dst: '1.1.1.1',
      sport: 5353,
      dport: 53,
      bytes: 60,
      mark: 131072,
    },
  ]);
});

test('ip monitor lines name their interface', () => {
  assert.equal(
    monitorLineInterface(
      '3: uplink1: <BROADCAST,MULTICAST> mtu 1500 qdisc tbf state DOWN mode DEFAULT group default qlen 1000\\    link/ether 1a:2b:3c:4d:5e:6f brd ff:ff:ff:ff:ff:ff',
    ),
    'uplink1',
  );
  assert.equal(
    monitorLineInterface(
      'Deleted 3: uplink1    inet 100.64.1.2/24 scope global uplink1\\       valid_lft forever',
    ),
    'uplink1',
  );
  assert.equal(monitorLineInterface('4: veth0@if5: <NO-CARRIER,BROADCAST,UP> mtu 1500'), 'veth0');
  assert.equal(monitorLineInterface('garbage'), undefined);
});

test('weighted pick: only healthy, not excluded; by weight', () => {
  const c = [
    { id: 'a', localAddress: '10.0.0.2', weight: 1, healthy: true },
    { id: 'b', localAddress: '10.1.0.2', weight: 3, healthy: true },
    { id: 'c', localAddress: '10.2.0.2', weight: 5, healthy: false },
  ];
  assert.equal(pickWeighted(c, [], () => 0.2)?.id, 'a');
  assert.equal(pickWeighted(c, [], () => 0.3)?.id, 'b');
  assert.equal(pickWeighted(c, ['b'], () => 0.99)?.id, 'a');
  assert.equal(
    pickWeighted(c, ['a', 'b'], () => 0),
    undefined,
  );
});

const status: GatewayStatus = {
  name: 'bus',
  pid: 42,
  startedAt: '2026-01-01T00:00:00.000Z',
  settings: { intercept: true, port: 3129, splice: true, fastReset: true },
  uplinks: [
    {
      name: 'a',
      interface: 'wwan0',
      source: '10.0.0.2',
      gateway: '10.0.0.1',
      weight: 1,
      cost: 0,
      state: 'down',
      since: '2026-01-01T00:00:01.000Z',
      rttMs: 52.5,
      loss: 0.5,
      rxBps: 0,
      txBps: 1000,
      flows: 0,
      failures: 1,
      transients: 2,
      lastFailureMs: null,
    },
    {
      name: 'b',
      interface: 'wwan1',
      source: '10.1.0.2',
      gateway: '10.1.0.1',
      weight: 1,
      cost: 0,
      state: 'up',
      since: '2026-01-01T00:00:00.000Z',
      rttMs: null,
      loss: 0,
      rxBps: 2e7,
      txBps: 1e5,
      flows: 1,
      failures: 0,
      transients: 0,
      lastFailureMs: null,
    },
  ],
  http: [
    {
      id: 1,
      client: '192.168.60.10:5000',
      server: '203.0.113.10:80',
      uplink: 'b',
      state: 'forwarding',
      requests: 1,
      migrations: 1,
      bytesFromClient: 80,
      bytesToClient: 1000,
      bytesFromServer: 900,
      error: undefined,
    },
  ],
  forwarded: [],
  migrations: [
    {
      flow: 1,
      from: 'a',
      to: 'b',
      offset: 500,
      reason: 'uplink a failed',
      at: '2026-01-01T00:00:01.000Z',
      recoveryMs: 110.5,
      kind: 'range',
    },
  ],
  events: [],
  resets: 0,
};

test('Prometheus text: HELP and TYPE per metric, labels, one sample per uplink and state', () => {
  const text = formatPrometheus(status);
  assert.match(text, /^# HELP roam_gateway_uplink_up /m);
  assert.match(text, /^# TYPE roam_gateway_uplink_up gauge$/m);
  assert.match(text, /^roam_gateway_uplink_up\{gateway="bus",uplink="a"\} 0$/m);
  assert.match(text, /^roam_gateway_uplink_up\{gateway="bus",uplink="b"\} 1$/m);
  assert.match(text, /^roam_gateway_uplink_state\{gateway="bus",uplink="a",state="down"\} 1$/m);
  assert.match(text, /^roam_gateway_uplink_state\{gateway="bus",uplink="a",state="up"\} 0$/m);
  assert.match(text, /^roam_gateway_uplink_rtt_seconds\{gateway="bus",uplink="a"\} 0.0525$/m);
  assert.match(text, /^roam_gateway_uplink_rtt_seconds\{gateway="bus",uplink="b"\} NaN$/m);
  assert.match(text, /^roam_gateway_migrations_total\{gateway="bus"\} 1$/m);
  assert.match(text, /^# TYPE roam_gateway_uplink_failures_total counter$/m);
  // every sample line is NAME{labels} VALUE
  for (const l of text.trim().split('\n')) {
    if (!l.startsWith('#')) assert.match(l, /^[a-z_]+\{[^}]*\} (-?[\d.e+]+|NaN)$/, l);
  }
});

test('status text shows uplinks, flows and migrations', () => {
  const text = formatStatusText(status);
  assert.match(text, /a \(wwan0 10\.0\.0\.2 via 10\.0\.0\.1, weight 1\): down since/);
  assert.match(
    text,
    /#1 192\.168\.60\.10:5000 → 203\.0\.113\.10:80 via b: forwarding, 1000 bytes to client, 1 migrations/,
  );
  assert.match(text, /flow #1 a → b at byte 500 .*: range, recovery 110\.5 ms/);
});

test('forwarded flows: only connections with one of the uplinks marks, named by uplink', () => {
  const config = parseGatewayConfig({
    name: 'bus',
    lan: { interface: 'lan' },
    uplinks: [
      { name: 'a', interface: 'w0', gateway: '10.0.0.1' },
      { name: 'b', interface: 'w1', gateway: '10.1.0.1' },
    ],
  });
  const entry = {
    protocol: 'tcp',
    state: 'ESTABLISHED',
    src: '192.168.60.10',
    dst: '203.0.113.10',
    sport: 1,
    dport: 7000,
    bytes: 5,
  };
  assert.deepEqual(
    forwardedFlows(
      [
        { ...entry, mark: 0x20000 },
        { ...entry, mark: 0 }, // not ours (the gateway itself, or before it started)
        { ...entry, mark: 0xff0000 }, // the reset mark is no uplink
        { ...entry, mark: 0x10000 | 0x5 }, // other bits of the mark are someone else's
      ],
      config,
    ).map((f) => f.uplink),
    ['b', 'a'],
  );
});
