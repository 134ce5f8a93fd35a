import { networkOf } from '../../net/ipv4.js';
import type { Endpoint } from '../topology/model.js';
import { ip, type Step } from './step.js';

/**
 * Addressing and routing of one host interface. Kept in one place because the same steps
 * run at `lab up`, after a link comes back up (the kernel drops routes of a downed link)
 * and after a renumber.
 *
 * An interface with a gateway gets a default route in the main table (preference by
 * metric) and a per-source table: `from <ip> lookup <table>`, so a socket bound to this
 * address leaves through this interface. The table ends in an `unreachable` default so a
 * socket bound to a dead path's address fails instead of leaking out of another path with
 * the wrong source address (LAB-NOTES: per-source routing gotcha).
 */
export function endpointTable(index: number): number {
  return 100 + index;
}

export function endpointAddressSteps(ns: string, ep: Endpoint): Step[] {
  return [
    ip(ns, 'addr', 'replace', `${ep.ip}/${ep.prefixLen}`, 'dev', ep.ifname),
    ip(ns, 'link', 'set', 'dev', ep.ifname, 'up'),
  ];
}

export function endpointRouteSteps(ns: string, ep: Endpoint, index: number): Step[] {
  if (ep.gateway === undefined) return [];
  const table = String(endpointTable(index));
  const subnet = networkOf({ ip: ep.ip, prefixLen: ep.prefixLen });
  return [
    ip(
      ns,
      'route',
      'replace',
      'default',
      'via',
      ep.gateway,
      'dev',
      ep.ifname,
      'metric',
      String(ep.metric),
    ),
    ip(ns, 'route', 'replace', subnet, 'dev', ep.ifname, 'src', ep.ip, 'table', table),
    ip(ns, 'route', 'replace', 'default', 'via', ep.gateway, 'dev', ep.ifname, 'table', table),
    ip(ns, 'route', 'replace', 'unreachable', 'default', 'metric', '4096', 'table', table),
    { ...ip(ns, 'rule', 'del', 'from', ep.ip, 'lookup', table), mayFail: true },
    ip(ns, 'rule', 'add', 'from', ep.ip, 'lookup', table, 'priority', String(1000 + index)),
  ];
}

/** Moves an interface to a new address in the same subnet: add the new one, then drop the old. */
export function renumberSteps(ns: string, ep: Endpoint, index: number, newIp: string): Step[] {
  const moved = { ...ep, ip: newIp };
  const steps: Step[] = [ip(ns, 'addr', 'add', `${newIp}/${ep.prefixLen}`, 'dev', ep.ifname)];
  steps.push(...endpointRouteSteps(ns, moved, index));
  if (ep.gateway !== undefined) {
    steps.push({
      ...ip(ns, 'rule', 'del', 'from', ep.ip, 'lookup', String(endpointTable(index))),
      mayFail: true,
    });
  }
  steps.push(ip(ns, 'addr', 'del', `${ep.ip}/${ep.prefixLen}`, 'dev', ep.ifname));
  // Deleting the old primary promotes the new address, but routes through the interface
  // that named the old one as source are gone: put them back.
  steps.push(...endpointRouteSteps(ns, moved, index));
  return steps;
}
