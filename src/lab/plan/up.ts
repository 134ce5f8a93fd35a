import type { Endpoint, LinkSpec, Topology } from '../topology/model.js';
import { endpointAddressSteps, endpointRouteSteps } from './endpoint.js';
import { type LabNames, WIRE_DEVICES as W } from './names.js';
import { inNs, ip, type Step, sysctl } from './step.js';

/**
 * The commands that build a lab, as data (so they can be read and tested without root).
 *
 *   host A ns                  wire ns <id>_<link>                          host B ns
 *   [ifname] ══veth══ [a]─┐                                   ┌─[b] ══veth══ [ifname]
 *                          bra ─ ta ⇄ delay line process ⇄ tb ─ brb
 *
 * Each link is a wire in its own namespace: two bridges joined only through two taps that
 * the lab's delay-line process (src/lab/wire/) reads and writes, so every frame in either
 * direction crosses user space once, where it is delayed, jittered, dropped or stalled.
 * Rate limits are tbf on the wire's veth toward the receiver, so the bottleneck queue sits
 * in the middle of the path, not in the sender's own stack.
 */

export interface HostEndpoint {
  link: LinkSpec;
  side: 'a' | 'b';
  ep: Endpoint;
  /** Position among this host's interfaces; picks its routing table. */
  index: number;
}

export function endpointsByHost(topology: Topology): Map<string, HostEndpoint[]> {
  const out = new Map<string, HostEndpoint[]>(topology.hosts.map((h) => [h.name, []]));
  for (const link of topology.links) {
    for (const side of ['a', 'b'] as const) {
      const list = out.get(link[side].host) ?? [];
      list.push({ link, side, ep: link[side], index: list.length });
      out.set(link[side].host, list);
    }
  }
  return out;
}

export function findEndpoint(
  topology: Topology,
  link: string,
  side: 'a' | 'b',
): HostEndpoint | undefined {
  const spec = topology.links.find((l) => l.name === link);
  if (!spec) return undefined;
  return endpointsByHost(topology)
    .get(spec[side].host)
    ?.find((h) => h.link.name === link && h.side === side);
}

/** tbf shaping `dev` in the wire namespace; an infinite rate removes shaping. */
export function rateStep(ns: string, dev: string, rateBps: number, queuePackets: number): Step {
  if (!Number.isFinite(rateBps) || rateBps <= 0) {
    return { argv: ['tc', '-n', ns, 'qdisc', 'del', 'dev', dev, 'root'], mayFail: true };
  }
  const rate = Math.round(rateBps);
  // Burst: at least two full frames, and about 2 ms at this rate so tbf is not starved
  // between timer ticks at high rates.
  const burst = Math.max(2 * 1514, Math.ceil((rate / 8) * 0.002));
  const limit = Math.max(queuePackets * 1514, burst);
  return {
    argv: [
      'tc',
      '-n',
      ns,
      'qdisc',
      'replace',
      'dev',
      dev,
      'root',
      'tbf',
      'rate',
      `${rate}bit`,
      'burst',
      String(burst),
      'limit',
      String(limit),
    ],
  };
}

function wireSteps(link: LinkSpec, names: LabNames): Step[] {
  const ns = names.linkNs(link.name);
  const steps: Step[] = [
    ip(ns, 'link', 'set', 'dev', 'lo', 'up'),
    ip(
      ns,
      'link',
      'add',
      link.a.ifname,
      'netns',
      names.hostNs(link.a.host),
      'type',
      'veth',
      'peer',
      'name',
      W.vethA,
    ),
    ip(
      ns,
      'link',
      'add',
      link.b.ifname,
      'netns',
      names.hostNs(link.b.host),
      'type',
      'veth',
      'peer',
      'name',
      W.vethB,
    ),
  ];
  for (const [bridge, veth, tap] of [
    [W.bridgeA, W.vethA, W.tapA],
    [W.bridgeB, W.vethB, W.tapB],
  ] as const) {
    steps.push(
      ip(
        ns,
        'link',
        'add',
        bridge,
        'type',
        'bridge',
        'forward_delay',
        '0',
        'stp_state',
        '0',
        'mcast_snooping',
        '0',
      ),
      ip(ns, 'tuntap', 'add', 'mode', 'tap', 'name', tap),
      // The default queue of 1000 overflows in bursts at high rates (retransmits at 1 Gbit/s).
      ip(ns, 'link', 'set', 'dev', tap, 'txqueuelen', '10000'),
      ip(ns, 'link', 'set', 'dev', veth, 'master', bridge),
      ip(ns, 'link', 'set', 'dev', tap, 'master', bridge),
      ip(ns, 'link', 'set', 'dev', veth, 'up'),
      ip(ns, 'link', 'set', 'dev', tap, 'up'),
      ip(ns, 'link', 'set', 'dev', bridge, 'up'),
    );
  }
  // a → b leaves the wire through veth b; b → a through veth a.
  if (Number.isFinite(link.up.rateBps))
    steps.push(rateStep(ns, W.vethB, link.up.rateBps, link.queuePackets));
  if (Number.isFinite(link.down.rateBps))
    steps.push(rateStep(ns, W.vethA, link.down.rateBps, link.queuePackets));
  return steps;
}

export function planUp(topology: Topology, names: LabNames): Step[] {
  const steps: Step[] = [];
  const namespaces = [
    ...topology.hosts.map((h) => names.hostNs(h.name)),
    ...topology.links.map((l) => names.linkNs(l.name)),
  ];
  for (const ns of namespaces) {
    steps.push({ argv: ['ip', 'netns', 'add', ns] });
    steps.push(
      // No IPv6 and no IGMP reports: stray frames would take loss draws and trace opportunities.
      sysctl(
        ns,
        'net.ipv6.conf.all.disable_ipv6=1',
        'net.ipv6.conf.default.disable_ipv6=1',
        'net.ipv4.igmp_link_local_mcast_reports=0',
      ),
    );
  }
  for (const link of topology.links) steps.push(...wireSteps(link, names));
  const byHost = endpointsByHost(topology);
  for (const host of topology.hosts) {
    const ns = names.hostNs(host.name);
    steps.push(ip(ns, 'link', 'set', 'dev', 'lo', 'up'));
    // Renumbering within a subnet: without promote_secondaries, deleting the old primary
    // address also deletes the new secondary one (LAB-NOTES).
    steps.push(
      sysctl(
        ns,
        'net.ipv4.conf.all.promote_secondaries=1',
        'net.ipv4.conf.default.promote_secondaries=1',
      ),
    );
    if (host.forward) {
      steps.push(
        sysctl(
          ns,
          'net.ipv4.ip_forward=1',
          'net.ipv4.conf.all.rp_filter=0',
          'net.ipv4.conf.default.rp_filter=0',
          'net.ipv4.conf.all.send_redirects=0',
          'net.ipv4.conf.default.send_redirects=0',
        ),
      );
    }
    const endpoints = byHost.get(host.name) ?? [];
    for (const { ep } of endpoints) steps.push(...endpointAddressSteps(ns, ep));
    for (const { ep, index } of endpoints) steps.push(...endpointRouteSteps(ns, ep, index));
    for (const route of host.routes)
      steps.push(ip(ns, 'route', 'replace', route.to, 'via', route.via));
    for (const { ep } of endpoints) {
      if (ep.nat)
        steps.push(
          inNs(
            ns,
            'iptables',
            '-w',
            '-t',
            'nat',
            '-A',
            'POSTROUTING',
            '-o',
            ep.ifname,
            '-j',
            'MASQUERADE',
          ),
        );
    }
  }
  return steps;
}

/** Removing the namespaces removes every interface, route, rule and NAT rule inside them. */
export function planDown(namespaces: string[]): Step[] {
  return namespaces.map((ns) => ({ argv: ['ip', 'netns', 'del', ns], mayFail: true }));
}
