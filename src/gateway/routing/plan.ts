import { networkOf } from '../../net/ipv4.js';
import type { GatewayConfig, UplinkConfig } from '../config/model.js';
import { type Command, ip, ipt, optional } from './command.js';

/** What the plan needs to know about an uplink that only the running host can tell. */
export interface UplinkAddress {
  readonly source: string;
  readonly prefixLen: number;
}

/** The sysctls the gateway sets; their previous values are recorded and restored. */
export function gatewaySysctls(config: GatewayConfig): Record<string, string> {
  const out: Record<string, string> = {
    'net.ipv4.ip_forward': '1',
    'net.ipv4.conf.all.rp_filter': '0',
    'net.netfilter.nf_conntrack_acct': '1',
  };
  // Return traffic of a flow marked for an uplink arrives there while the main table may
  // route its source elsewhere: strict reverse-path filtering would drop it.
  for (const dev of [config.lan.interface, ...config.uplinks.map((u) => u.interface)]) {
    out[`net.ipv4.conf.${dev.replace(/\./g, '/')}.rp_filter`] = '0';
  }
  return out;
}

export interface Chains {
  readonly pre: string;
  readonly pick: string;
  readonly nat: string;
  readonly http: string;
  readonly rst: string;
  readonly dead: string;
  readonly raw: string;
}

export function chainNames(config: GatewayConfig): Chains {
  const p = `RGW-${config.name}`;
  return {
    pre: `${p}-PRE`,
    pick: `${p}-PICK`,
    nat: `${p}-NAT`,
    http: `${p}-HTTP`,
    rst: `${p}-RST`,
    dead: `${p}-DEAD`,
    raw: `${p}-RAW`,
  };
}

export const hex = (n: number): string => `0x${n.toString(16)}`;

/** Uplink i's connection mark, and the mask of the gateway's bits in a mark. */
export function uplinkMark(config: GatewayConfig, index: number): number {
  return ((index + 1) << config.routing.markShift) >>> 0;
}
export function markMask(config: GatewayConfig): number {
  return (0xff << config.routing.markShift) >>> 0;
}

/** Packets of connections on a failed uplink carry this mark on their way to the REJECT. */
export function resetMark(config: GatewayConfig): number {
  return markMask(config);
}
export function resetTable(config: GatewayConfig): number {
  return config.routing.tableBase + 64;
}
const resetRulePriority = (config: GatewayConfig): number => config.routing.rulePriority + 49;

export function uplinkTable(config: GatewayConfig, index: number): number {
  return config.routing.tableBase + index;
}

function rulePriorities(config: GatewayConfig, index: number): { from: number; mark: number } {
  return {
    from: config.routing.rulePriority + index,
    mark: config.routing.rulePriority + 50 + index,
  };
}

/**
 * The uplink's routing table: its subnet, a default route through its next hop, and an
 * unreachable fallback so a socket bound to a dead uplink's address fails instead of leaking
 * out of another uplink. Re-run when the link comes back (the kernel drops its routes).
 */
export function uplinkRouteCommands(
  config: GatewayConfig,
  index: number,
  uplink: UplinkConfig,
  addr: UplinkAddress,
): Command[] {
  const table = String(uplinkTable(config, index));
  const subnet = networkOf({ ip: addr.source, prefixLen: addr.prefixLen });
  return [
    ip('route', 'replace', 'unreachable', 'default', 'metric', '4096', 'table', table),
    ip('route', 'replace', subnet, 'dev', uplink.interface, 'src', addr.source, 'table', table),
    ip(
      'route',
      'replace',
      'default',
      'via',
      uplink.gateway,
      'dev',
      uplink.interface,
      'table',
      table,
    ),
  ];
}

/** Rules for uplink i: its source address and its mark both lead to its table. */
export function uplinkRuleCommands(
  config: GatewayConfig,
  index: number,
  source: string,
): Command[] {
  const table = String(uplinkTable(config, index));
  const prio = rulePriorities(config, index);
  const mark = `${hex(uplinkMark(config, index))}/${hex(markMask(config))}`;
  return [
    optional(ip('rule', 'del', 'priority', String(prio.from))),
    ip('rule', 'add', 'from', source, 'lookup', table, 'priority', String(prio.from)),
    optional(ip('rule', 'del', 'priority', String(prio.mark))),
    ip('rule', 'add', 'fwmark', mark, 'lookup', table, 'priority', String(prio.mark)),
  ];
}

/** The built-in chain jumps into the gateway's chains: [table, builtin, match...]. */
function jumps(config: GatewayConfig): Array<{ table: string; chain: string; spec: string[] }> {
  const c = chainNames(config);
  const lan = config.lan.interface;
  const out = [
    { table: 'mangle', chain: 'PREROUTING', spec: ['-i', lan, '-j', c.pre] },
    { table: 'nat', chain: 'POSTROUTING', spec: ['-j', c.nat] },
  ];
  if (config.http.intercept) {
    out.push({
      table: 'nat',
      chain: 'PREROUTING',
      spec: ['-i', lan, '-p', 'tcp', '--dport', '80', '-j', c.http],
    });
  }
  if (config.fastReset) {
    out.push({ table: 'filter', chain: 'FORWARD', spec: ['-i', lan, '-j', c.rst] });
    out.push({ table: 'raw', chain: 'OUTPUT', spec: ['-o', lan, '-j', c.raw] });
  }
  return out;
}

function ownChains(config: GatewayConfig): Array<{ table: string; chain: string }> {
  const c = chainNames(config);
  return [
    { table: 'mangle', chain: c.pre },
    { table: 'mangle', chain: c.pick },
    { table: 'mangle', chain: c.dead },
    { table: 'nat', chain: c.nat },
    { table: 'nat', chain: c.http },
    { table: 'filter', chain: c.rst },
    { table: 'raw', chain: c.raw },
  ];
}

/**
 * Removes everything the gateway may have added, whatever state a crash left: every
 * command may fail (already gone). Sysctls are restored separately from recorded values.
 */
export function teardownCommands(config: GatewayConfig): Command[] {
  const out: Command[] = [];
  // Jumps first: a chain that is still referenced cannot be deleted. Every variant is
  // deleted (intercept / fastReset may have differed in the crashed run).
  const all = jumps({ ...config, http: { ...config.http, intercept: true }, fastReset: true });
  for (const j of all) out.push(optional(ipt(j.table, '-D', j.chain, ...j.spec)));
  for (const c of ownChains(config)) {
    out.push(optional(ipt(c.table, '-F', c.chain)));
    out.push(optional(ipt(c.table, '-X', c.chain)));
  }
  config.uplinks.forEach((_, i) => {
    const prio = rulePriorities(config, i);
    out.push(optional(ip('rule', 'del', 'priority', String(prio.from))));
    out.push(optional(ip('rule', 'del', 'priority', String(prio.mark))));
    out.push(optional(ip('route', 'flush', 'table', String(uplinkTable(config, i)))));
  });
  out.push(optional(ip('rule', 'del', 'priority', String(resetRulePriority(config)))));
  out.push(optional(ip('route', 'flush', 'table', String(resetTable(config)))));
  return out;
}

/** Chains, jumps and static rules; the uplinks' tables and rules come per uplink. */
export function setupCommands(config: GatewayConfig): Command[] {
  const c = chainNames(config);
  const mask = hex(markMask(config));
  const out: Command[] = [];
  for (const own of ownChains(config)) out.push(ipt(own.table, '-N', own.chain));
  out.push(
    ipt(
      'mangle',
      '-A',
      c.pre,
      '-j',
      'CONNMARK',
      '--restore-mark',
      '--nfmask',
      mask,
      '--ctmask',
      mask,
    ),
    // Connections on a failed uplink: their packets get the reset mark (see resetCommand).
    ipt('mangle', '-A', c.pre, '-j', c.dead),
    ipt('mangle', '-A', c.pre, '-m', 'mark', '!', '--mark', `0/${mask}`, '-j', 'RETURN'),
    // Traffic for the gateway itself (DNS, ping) is not balanced.
    ipt('mangle', '-A', c.pre, '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'RETURN'),
  );
  // Intercepted HTTP ends at the engine, which picks its own uplink (nat REDIRECT comes after
  // mangle, so the destination is not local yet here).
  if (config.http.intercept) {
    out.push(ipt('mangle', '-A', c.pre, '-p', 'tcp', '--dport', '80', '-j', 'RETURN'));
  }
  out.push(
    ipt('mangle', '-A', c.pre, '-m', 'conntrack', '--ctstate', 'NEW', '-j', c.pick),
    ipt('mangle', '-A', c.pre, '-j', 'CONNMARK', '--save-mark', '--nfmask', mask, '--ctmask', mask),
  );
  if (config.fastReset) {
    // A packet with the reset mark is routed (anywhere: out of the LAN) so that it reaches
    // FORWARD, where REJECT answers it with a reset whose sequence number is the packet's
    // acknowledgment number: exactly what the client's TCP accepts. An uplink table would
    // not do: a downed link's table is only "unreachable" and the packet would never get there.
    const rmark = `${hex(resetMark(config))}/${mask}`;
    out.push(
      ip(
        'route',
        'replace',
        'default',
        'dev',
        config.lan.interface,
        'table',
        String(resetTable(config)),
      ),
      optional(ip('rule', 'del', 'priority', String(resetRulePriority(config)))),
      ip(
        'rule',
        'add',
        'fwmark',
        rmark,
        'lookup',
        String(resetTable(config)),
        'priority',
        String(resetRulePriority(config)),
      ),
      ipt(
        'filter',
        '-A',
        c.rst,
        '-m',
        'mark',
        '--mark',
        rmark,
        '-p',
        'tcp',
        '-j',
        'REJECT',
        '--reject-with',
        'tcp-reset',
      ),
      ipt('filter', '-A', c.rst, '-m', 'mark', '--mark', rmark, '-j', 'DROP'),
      // The gateway's own nudge to an idle client (a forged out-of-window ACK "from the
      // server", so the client answers with an ACK that meets the REJECT) must not be
      // tracked: its tuple is the reverse of the client's connection before NAT, and
      // conntrack would refuse the client's answer as a clash.
      ipt('raw', '-A', c.raw, '-m', 'mark', '--mark', rmark, '-j', 'CT', '--notrack'),
    );
  }
  for (const u of config.uplinks) {
    out.push(ipt('nat', '-A', c.nat, '-o', u.interface, '-j', 'MASQUERADE'));
  }
  if (config.http.intercept) {
    out.push(
      ipt('nat', '-A', c.http, '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'RETURN'),
      ipt(
        'nat',
        '-A',
        c.http,
        '-p',
        'tcp',
        '-j',
        'REDIRECT',
        '--to-ports',
        String(config.http.port),
      ),
    );
  }
  for (const j of jumps(config)) out.push(ipt(j.table, '-I', j.chain, '1', ...j.spec));
  return out;
}

/**
 * The balancing rules for new connections among the healthy uplinks, by weight: rule k
 * takes an unmarked connection with probability w_k / (w_k + … + w_last), so each uplink
 * gets w / Σw of them. One iptables-restore transaction: no instant without rules.
 */
export function pickCommand(config: GatewayConfig, healthy: readonly string[]): Command {
  const c = chainNames(config);
  const mask = hex(markMask(config));
  const members = config.uplinks
    .map((u, i) => ({ u, i }))
    .filter(({ u }) => healthy.includes(u.name));
  const lines = ['*mangle', `-F ${c.pick}`];
  let remaining = members.reduce((sum, m) => sum + m.u.weight, 0);
  for (const { u, i } of members) {
    const p = u.weight / remaining;
    remaining -= u.weight;
    const stat = p < 1 ? ` -m statistic --mode random --probability ${p.toFixed(6)}` : '';
    lines.push(
      `-A ${c.pick} -m mark --mark 0/${mask}${stat} -j MARK --set-xmark ${hex(uplinkMark(config, i))}/${mask}`,
    );
  }
  lines.push('COMMIT', '');
  return { argv: ['iptables-restore', '-w', '5', '--noflush'], input: lines.join('\n') };
}

/**
 * Packets from the LAN of connections marked for a failed uplink get the reset mark, which
 * leads them to the REJECT in FORWARD (fastReset). Rewritten when health changes.
 */
export function resetCommand(config: GatewayConfig, failed: readonly string[]): Command {
  const c = chainNames(config);
  const mask = hex(markMask(config));
  const lines = ['*mangle', `-F ${c.dead}`];
  config.uplinks.forEach((u, i) => {
    if (!failed.includes(u.name)) return;
    lines.push(
      `-A ${c.dead} -m connmark --mark ${hex(uplinkMark(config, i))}/${mask} -j MARK --set-xmark ${hex(resetMark(config))}/${mask}`,
    );
  });
  lines.push('COMMIT', '');
  return { argv: ['iptables-restore', '-w', '5', '--noflush'], input: lines.join('\n') };
}
