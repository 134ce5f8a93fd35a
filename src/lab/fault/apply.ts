import { RoamError } from '../../errors.js';
import { endpointAddressSteps, endpointRouteSteps, renumberSteps } from '../plan/endpoint.js';
import { labNames, WIRE_DEVICES } from '../plan/names.js';
import { ip } from '../plan/step.js';
import { endpointsByHost, findEndpoint, rateStep } from '../plan/up.js';
import { type LabState, writeState } from '../state.js';
import { run, runSteps } from '../system/run.js';
import { nextFreeAddress } from '../../net/ipv4.js';
import type { DirectionSpec, LinkSpec } from '../topology/model.js';
import { controlRequest } from '../wire/control-client.js';
import type { WireParamsPatch } from '../wire/control-protocol.js';
import type { Direction, Fault } from './fault.js';

export interface FaultResult {
  link: string;
  fault: Fault;
  /** For a renumber: the address before and after. */
  from?: string;
  to?: string;
}

const WIRE_DIRS = { up: ['ab'], down: ['ba'], both: ['ab', 'ba'] } as const;
const SPEC_DIRS = { up: ['up'], down: ['down'], both: ['up', 'down'] } as const;

async function setWire(
  labId: string,
  link: string,
  direction: Direction,
  params: WireParamsPatch,
): Promise<void> {
  for (const dir of WIRE_DIRS[direction])
    await controlRequest(labId, { op: 'set', link, dir, params });
}

/** Records run-time changes of a link in the lab state, so `status` shows what is in force. */
function updateSpec(link: LinkSpec, direction: Direction, patch: Partial<DirectionSpec>): void {
  for (const dir of SPEC_DIRS[direction]) Object.assign(link[dir], patch);
}

/**
 * What a gratuitous ARP does: the neighbour across the link maps `address` to the MAC of
 * `ifname` at once ('stale', so the kernel still confirms it when it next uses it).
 */
async function announce(
  ns: string,
  ifname: string,
  address: string,
  peerNs: string,
  peerIfname: string,
): Promise<void> {
  const { stdout } = await run(['ip', '-n', ns, '-j', 'link', 'show', 'dev', ifname]);
  const mac = (JSON.parse(stdout) as { address?: string }[])[0]?.address;
  if (!mac) throw new RoamError('ROAM_LAB_COMMAND', `no MAC address on ${ifname} in ${ns}`);
  await runSteps([
    ip(peerNs, 'neigh', 'replace', address, 'lladdr', mac, 'dev', peerIfname, 'nud', 'stale'),
  ]);
}

/** Applies a fault to a running lab and records its effect in the lab's state. */
export async function applyFault(
  state: LabState,
  linkName: string,
  fault: Fault,
): Promise<FaultResult> {
  const link = state.topology.links.find((l) => l.name === linkName);
  if (!link) {
    const known = state.topology.links.map((l) => l.name).join(', ');
    throw new RoamError(
      'ROAM_LAB_NO_SUCH_LINK',
      `lab ${state.id} has no link "${linkName}" (links: ${known})`,
    );
  }
  const names = labNames(state.id);
  const result: FaultResult = { link: linkName, fault };
  switch (fault.kind) {
    case 'stall':
      await setWire(state.id, linkName, fault.direction, { stall: true });
      break;
    case 'down': {
      const ep = link[fault.side];
      await runSteps([ip(names.hostNs(ep.host), 'link', 'set', 'dev', ep.ifname, 'down')]);
      break;
    }
    case 'up': {
      // The kernel drops a downed interface's routes; restore both ends' addressing and routes.
      for (const side of ['a', 'b'] as const) {
        const he = findEndpoint(state.topology, linkName, side);
        if (!he) continue;
        const ns = names.hostNs(he.ep.host);
        await runSteps([
          ...endpointAddressSteps(ns, he.ep),
          ...endpointRouteSteps(ns, he.ep, he.index),
        ]);
      }
      await setWire(state.id, linkName, 'both', { stall: false });
      break;
    }
    case 'renumber': {
      const he = findEndpoint(state.topology, linkName, fault.side);
      if (!he)
        throw new RoamError('ROAM_LAB_NO_SUCH_LINK', `no side ${fault.side} on link ${linkName}`);
      const taken = new Set<string>();
      for (const list of endpointsByHost(state.topology).values())
        for (const h of list) taken.add(h.ep.ip);
      const to = fault.ip ?? nextFreeAddress({ ip: he.ep.ip, prefixLen: he.ep.prefixLen }, taken);
      if (!to || taken.has(to)) {
        throw new RoamError(
          'ROAM_BAD_INPUT',
          `cannot renumber ${linkName} side ${fault.side}: ${to ?? 'no free address'} is taken`,
        );
      }
      await runSteps(renumberSteps(names.hostNs(he.ep.host), he.ep, he.index, to));
      if (fault.announce) {
        const peer = link[fault.side === 'a' ? 'b' : 'a'];
        await announce(
          names.hostNs(he.ep.host),
          he.ep.ifname,
          to,
          names.hostNs(peer.host),
          peer.ifname,
        );
      }
      result.from = he.ep.ip;
      result.to = to;
      link[fault.side].ip = to;
      break;
    }
    case 'loss':
      await setWire(state.id, linkName, fault.direction, { loss: fault.loss });
      updateSpec(link, fault.direction, { loss: fault.loss });
      break;
    case 'delay':
      await setWire(state.id, linkName, fault.direction, { delayMs: fault.ms });
      updateSpec(link, fault.direction, { delayMs: fault.ms });
      break;
    case 'jitter':
      await setWire(state.id, linkName, fault.direction, { jitterMs: fault.ms });
      updateSpec(link, fault.direction, { jitterMs: fault.ms });
      break;
    case 'rate': {
      const ns = names.linkNs(linkName);
      // a → b (up) leaves the wire through veth b, b → a through veth a.
      if (fault.direction !== 'down')
        await runSteps([rateStep(ns, WIRE_DEVICES.vethB, fault.bps, link.queuePackets)]);
      if (fault.direction !== 'up')
        await runSteps([rateStep(ns, WIRE_DEVICES.vethA, fault.bps, link.queuePackets)]);
      updateSpec(link, fault.direction, { rateBps: fault.bps });
      break;
    }
    case 'trace':
      await setWire(state.id, linkName, fault.direction, { trace: fault.path });
      updateSpec(link, fault.direction, { trace: fault.path });
      break;
  }
  writeState(state);
  return result;
}
