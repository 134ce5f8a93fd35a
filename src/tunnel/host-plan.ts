import type { Command } from './host-state.js';

/**
 * The host changes of each end, pure: the commands to set up and the ones that undo them
 * (recorded before the set-up runs). Pure so it is unit-tested without root.
 */
export interface HostPlan {
  setup: Command[];
  teardown: Command[];
  sysctls: Record<string, string>;
}

const ipt = (table: string, op: '-A' | '-D', ...rule: string[]): Command => ({
  argv: ['iptables', '-w', '5', '-t', table, op, ...rule],
  mayFail: op === '-D',
});

/** TCP SYNs through the tunnel get their MSS clamped to the route's MTU: no PMTU blackhole. */
function mssClamp(
  device: string,
  chain: 'FORWARD' | 'OUTPUT',
  op: '-A' | '-D',
  tag: string,
): Command[] {
  const rule = [
    '-p',
    'tcp',
    '--tcp-flags',
    'SYN,RST',
    'SYN',
    '-j',
    'TCPMSS',
    '--clamp-mss-to-pmtu',
  ];
  const comment = ['-m', 'comment', '--comment', tag];
  const out = [ipt('mangle', op, chain, '-o', device, ...comment, ...rule)];
  if (chain === 'FORWARD') out.push(ipt('mangle', op, chain, '-i', device, ...comment, ...rule));
  return out;
}

function link(device: string, address: string, mtu: number): Command[] {
  return [
    { argv: ['ip', 'addr', 'add', address, 'dev', device] },
    { argv: ['ip', 'link', 'set', device, 'mtu', String(mtu), 'up'] },
  ];
}

export function servePlan(o: {
  name: string;
  device: string;
  address: string;
  mtu: number;
  natOut: string | null;
}): HostPlan {
  const tag = `roam-tunnel-${o.name}`;
  const subnet = networkOf(o.address);
  const nat = (op: '-A' | '-D'): Command[] =>
    o.natOut === null
      ? []
      : [
          ipt(
            'nat',
            op,
            'POSTROUTING',
            '-s',
            subnet,
            '-o',
            o.natOut,
            '-m',
            'comment',
            '--comment',
            tag,
            '-j',
            'MASQUERADE',
          ),
        ];
  return {
    setup: [
      ...link(o.device, o.address, o.mtu),
      ...nat('-A'),
      ...mssClamp(o.device, 'FORWARD', '-A', tag),
    ],
    teardown: [...nat('-D'), ...mssClamp(o.device, 'FORWARD', '-D', tag)],
    sysctls: { 'net.ipv4.ip_forward': '1' },
  };
}

/** Without routes, everything: two /1 halves beat the default route without replacing it. */
export function upPlan(o: {
  name: string;
  device: string;
  address: string;
  mtu: number;
  routes: string[];
}): HostPlan {
  const tag = `roam-tunnel-${o.name}`;
  const routes = o.routes.length ? o.routes : ['0.0.0.0/1', '128.0.0.0/1'];
  return {
    setup: [
      ...link(o.device, o.address, o.mtu),
      ...routes.map((r) => ({ argv: ['ip', 'route', 'add', r, 'dev', o.device] })),
      ...mssClamp(o.device, 'FORWARD', '-A', tag),
      ...mssClamp(o.device, 'OUTPUT', '-A', tag),
    ],
    teardown: [
      ...routes.map((r) => ({ argv: ['ip', 'route', 'del', r, 'dev', o.device], mayFail: true })),
      ...mssClamp(o.device, 'FORWARD', '-D', tag),
      ...mssClamp(o.device, 'OUTPUT', '-D', tag),
    ],
    sysctls: {},
  };
}

/** 10.99.0.1/24 -> 10.99.0.0/24 */
export function networkOf(cidr: string): string {
  const [ip = '', len = '32'] = cidr.split('/');
  const bits = Number(len);
  const n = ip.split('.').reduce((a, o) => (a << 8) | Number(o), 0) >>> 0;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  const net = (n & mask) >>> 0;
  return `${[24, 16, 8, 0].map((s) => (net >>> s) & 255).join('.')}/${bits}`;
}
