import type { Lab } from './lab.js';
import type { DirectionSpec } from './topology/model.js';

export interface InterfaceStatus {
  ifname: string;
  state: string;
  addresses: string[];
}

export interface LabStatus {
  id: string;
  name: string;
  createdAt: string;
  daemon: { pid: number | null; alive: boolean };
  hosts: { name: string; namespace: string; interfaces: InterfaceStatus[] }[];
  links: {
    name: string;
    a: string;
    b: string;
    up: DirectionSpec;
    down: DirectionSpec;
    wire: unknown;
  }[];
}

interface IpAddrJson {
  ifname: string;
  operstate: string;
  flags?: string[];
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

/** What is up now: interfaces and addresses as the kernel reports them, wire counters. */
export async function labStatus(lab: Lab): Promise<LabStatus> {
  const state = lab.state;
  const stats = (await lab.stats().catch(() => ({}))) as Record<string, unknown>;
  const hosts = [];
  for (const host of state.topology.hosts) {
    const { stdout } = await lab.exec(host.name, ['ip', '-j', 'addr', 'show'], { mayFail: true });
    let entries: IpAddrJson[] = [];
    try {
      entries = JSON.parse(stdout) as IpAddrJson[];
    } catch {
      entries = [];
    }
    hosts.push({
      name: host.name,
      namespace: lab.ns(host.name),
      interfaces: entries
        .filter((e) => e.ifname !== 'lo')
        .map((e) => ({
          ifname: e.ifname,
          state: e.flags?.includes('UP')
            ? e.operstate === 'UNKNOWN'
              ? 'UP'
              : e.operstate
            : 'DOWN',
          addresses: (e.addr_info ?? [])
            .filter((a) => a.family === 'inet')
            .map((a) => `${a.local}/${a.prefixlen}`),
        })),
    });
  }
  let alive = false;
  if (state.daemonPid) {
    try {
      process.kill(state.daemonPid, 0);
      alive = true;
    } catch {
      alive = false;
    }
  }
  return {
    id: state.id,
    name: state.topology.name,
    createdAt: state.createdAt,
    daemon: { pid: state.daemonPid, alive },
    hosts,
    links: state.topology.links.map((l) => ({
      name: l.name,
      a: `${l.a.host}:${l.a.ifname} ${l.a.ip}/${l.a.prefixLen}`,
      b: `${l.b.host}:${l.b.ifname} ${l.b.ip}/${l.b.prefixLen}`,
      up: l.up,
      down: l.down,
      wire: stats[l.name] ?? null,
    })),
  };
}
