import { RoamError } from '../../errors.js';
import {
  endpointAddressSteps,
  endpointRouteSteps,
  endpointTable,
  renumberSteps,
} from '../plan/endpoint.js';
import { labNames, WIRE_DEVICES } from '../plan/names.js';
import { ip } from '../plan/step.js';
import { endpointsByHost, findEndpoint, rateStep } from '../plan/up.js';
import { type LabState, writeState } from '../state.js';
import { run, runSteps } from '../system/run.js';
import { isReserved, networkOf, nextFreeAddress, sameSubnet } from '../../net/ipv4.js';
import type { Step } from '../plan/step.js';
import type { DirectionSpec, Endpoint, LinkSpec } from '../topology/model.js';
import { controlRequest } from '../wire/control-client.js';
import type { WireParamsPatch } from '../wire/control-protocol.js';
import type { Direction, Fault } from './fault.js';
import { netSnapshot, snapshotDifference } from './snapshot.js';

/** Runs a plan's steps; injectable so a test can make the n-th command fail. */
export type StepRunner = (steps: readonly Step[]) => Promise<void>;

export interface FaultResult {
  link: string;
  fault: Fault;
  /** For a renumber: the address before and after. */
  from?: string;
  to?: string;
}

const WIRE_DIRS = { up: ['ab'], down: ['ba'], both: ['ab', 'ba'] } as const;
const SPEC_DIRS = { up: ['up'], down: ['down'], both: ['up', 'down'] } as const;

/**
 * Sets wire parameters in one or both directions. If the second direction is refused, the
 * first is put back from the lab's recorded spec, so a fault never applies to half a link.
 */
async function setWire(
  labId: string,
  link: LinkSpec,
  direction: Direction,
  params: WireParamsPatch,
): Promise<void> {
  const done: ('ab' | 'ba')[] = [];
  for (const dir of WIRE_DIRS[direction]) {
    try {
      await controlRequest(labId, { op: 'set', link: link.name, dir, params });
      done.push(dir);
    } catch (err) {
      if (done.length === 0) throw err;
      for (const d of done) {
        const spec = link[d === 'ab' ? 'up' : 'down'];
        const previous: WireParamsPatch = {};
        if ('loss' in params) previous.loss = spec.loss;
        if ('delayMs' in params) previous.delayMs = spec.delayMs;
        if ('jitterMs' in params) previous.jitterMs = spec.jitterMs;
        if ('trace' in params) previous.trace = spec.trace;
        if ('stall' in params) previous.stall = !params.stall;
        await controlRequest(labId, { op: 'set', link: link.name, dir: d, params: previous });
      }
      throw new RoamError(
        err instanceof RoamError ? err.code : 'ROAM_LAB_DAEMON',
        `${link.name}: the ${dir} direction refused the change, the other was put back: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
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
  runner: StepRunner,
  ns: string,
  ifname: string,
  address: string,
  peerNs: string,
  peerIfname: string,
): Promise<void> {
  const { stdout } = await run(['ip', '-n', ns, '-j', 'link', 'show', 'dev', ifname]);
  const mac = (JSON.parse(stdout) as { address?: string }[])[0]?.address;
  if (!mac) throw new RoamError('ROAM_LAB_COMMAND', `no MAC address on ${ifname} in ${ns}`);
  await runner([
    ip(peerNs, 'neigh', 'replace', address, 'lladdr', mac, 'dev', peerIfname, 'nud', 'stale'),
  ]);
}

/**
 * The address a renumber moves to, checked before anything changes: in the interface's
 * subnet, a host address, not in use. Otherwise `ip route replace … via` would fail halfway,
 * after the interface had already moved and lost its default route.
 */
function renumberTarget(
  state: LabState,
  linkName: string,
  side: 'a' | 'b',
  ep: Endpoint,
  wanted: string | undefined,
): string {
  const taken = new Set<string>();
  for (const list of endpointsByHost(state.topology).values())
    for (const h of list) taken.add(h.ep.ip);
  const subnet = networkOf({ ip: ep.ip, prefixLen: ep.prefixLen });
  const refuse = (why: string) =>
    new RoamError(
      'ROAM_BAD_INPUT',
      `cannot renumber ${linkName} side ${side}${wanted ? ` to ${wanted}` : ''}: ${why}; the lab is unchanged`,
    );
  if (wanted === undefined) {
    const next = nextFreeAddress({ ip: ep.ip, prefixLen: ep.prefixLen }, taken);
    if (!next) throw refuse(`no free address left in ${subnet}`);
    return next;
  }
  if (!sameSubnet({ ip: ep.ip, prefixLen: ep.prefixLen }, wanted))
    throw refuse(`not in its subnet ${subnet} (it is ${ep.ip}/${ep.prefixLen})`);
  if (isReserved({ ip: wanted, prefixLen: ep.prefixLen }))
    throw refuse(`the network or broadcast address of ${subnet}`);
  if (taken.has(wanted))
    throw refuse(wanted === ep.ip ? 'it already has that address' : 'that address is taken');
  return wanted;
}

/** Puts a renumbered interface back on `ep.ip`, from any point of renumberSteps. */
function renumberUndoSteps(
  ns: string,
  ep: Endpoint,
  index: number,
  to: string,
  peer: { ns: string; ifname: string },
): Step[] {
  const steps: Step[] = [
    { ...ip(ns, 'addr', 'del', `${to}/${ep.prefixLen}`, 'dev', ep.ifname), mayFail: true },
    ip(ns, 'addr', 'replace', `${ep.ip}/${ep.prefixLen}`, 'dev', ep.ifname),
    { ...ip(peer.ns, 'neigh', 'del', to, 'dev', peer.ifname), mayFail: true },
  ];
  if (ep.gateway !== undefined)
    steps.push({
      ...ip(ns, 'rule', 'del', 'from', to, 'lookup', String(endpointTable(index))),
      mayFail: true,
    });
  return [...steps, ...endpointRouteSteps(ns, ep, index)];
}

/**
 * Runs `apply`; if it fails, runs `undo` and checks, from the kernel's own listing, that the
 * namespaces are as they were. The error says which of the two happened.
 */
async function atomically(
  what: string,
  namespaces: readonly string[],
  apply: () => Promise<void>,
  undo: () => Promise<void>,
): Promise<void> {
  const before = await netSnapshot(namespaces);
  try {
    await apply();
  } catch (err) {
    const code = err instanceof RoamError ? err.code : 'ROAM_LAB_COMMAND';
    const cause = (err as Error).message;
    // The kernel's listing decides, not the undo's exit codes: restoring the routes of a
    // downed interface fails, yet leaves it exactly as it was (without them).
    let undoFailed = '';
    try {
      await undo();
    } catch (undoErr) {
      undoFailed = `; undoing: ${(undoErr as Error).message}`;
    }
    const diff = snapshotDifference(before, await netSnapshot(namespaces));
    const left = diff === undefined ? undefined : `${diff}${undoFailed}`;
    throw new RoamError(
      code,
      left === undefined
        ? `${what} failed and was undone, the lab is as it was: ${cause}`
        : `${what} failed and could not be fully undone (${left}); take the lab down and up again: ${cause}`,
      { cause: err },
    );
  }
}

/** Applies a fault to a running lab and records its effect in the lab's state. */
export async function applyFault(
  state: LabState,
  linkName: string,
  fault: Fault,
  runner: StepRunner = runSteps,
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
      await setWire(state.id, link, fault.direction, { stall: true });
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
      await setWire(state.id, link, 'both', { stall: false });
      break;
    }
    case 'renumber': {
      const he = findEndpoint(state.topology, linkName, fault.side);
      if (!he)
        throw new RoamError('ROAM_LAB_NO_SUCH_LINK', `no side ${fault.side} on link ${linkName}`);
      const to = renumberTarget(state, linkName, fault.side, he.ep, fault.ip);
      const ns = names.hostNs(he.ep.host);
      const peerEp = link[fault.side === 'a' ? 'b' : 'a'];
      const peer = { ns: names.hostNs(peerEp.host), ifname: peerEp.ifname };
      await atomically(
        `renumber ${linkName} side ${fault.side} to ${to}`,
        [ns], // the peer's side only gains a neighbour entry, which the undo removes
        async () => {
          await runner(renumberSteps(ns, he.ep, he.index, to));
          if (fault.announce) await announce(runner, ns, he.ep.ifname, to, peer.ns, peer.ifname);
        },
        () => runSteps(renumberUndoSteps(ns, he.ep, he.index, to, peer)),
      );
      result.from = he.ep.ip;
      result.to = to;
      link[fault.side].ip = to;
      break;
    }
    case 'loss':
      await setWire(state.id, link, fault.direction, { loss: fault.loss });
      updateSpec(link, fault.direction, { loss: fault.loss });
      break;
    case 'delay':
      await setWire(state.id, link, fault.direction, { delayMs: fault.ms });
      updateSpec(link, fault.direction, { delayMs: fault.ms });
      break;
    case 'jitter':
      await setWire(state.id, link, fault.direction, { jitterMs: fault.ms });
      updateSpec(link, fault.direction, { jitterMs: fault.ms });
      break;
    case 'rate': {
      const ns = names.linkNs(linkName);
      // a → b (up) leaves the wire through veth b, b → a through veth a.
      const steps = (up: number | undefined, down: number | undefined): Step[] => [
        ...(up === undefined ? [] : [rateStep(ns, WIRE_DEVICES.vethB, up, link.queuePackets)]),
        ...(down === undefined ? [] : [rateStep(ns, WIRE_DEVICES.vethA, down, link.queuePackets)]),
      ];
      await atomically(
        `rate ${fault.bps} bit/s on ${linkName}`,
        [ns],
        () =>
          runner(
            steps(
              fault.direction !== 'down' ? fault.bps : undefined,
              fault.direction !== 'up' ? fault.bps : undefined,
            ),
          ),
        () => runSteps(steps(link.up.rateBps, link.down.rateBps)),
      );
      updateSpec(link, fault.direction, { rateBps: fault.bps });
      break;
    }
    case 'trace':
      await setWire(state.id, link, fault.direction, { trace: fault.path });
      updateSpec(link, fault.direction, { trace: fault.path });
      break;
  }
  writeState(state);
  return result;
}
