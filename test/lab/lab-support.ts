import assert from 'node:assert/strict';
import { parsePing } from './ping.js';
import { existsSync } from 'node:fs';
import { isRoot, Lab } from '../../src/lab/lab.js';
import { stateDir } from '../../src/lab/state.js';
import { labNamespaces, wireDaemons } from '../../src/lab/teardown.js';
import { parseTopology } from '../../src/lab/topology/load.js';
import type { Topology } from '../../src/lab/topology/model.js';

/** Why lab tests cannot run here, or undefined when they can. */
export function labSkipReason(): string | undefined {
  if (!isRoot()) return 'needs root (network namespaces, tun devices); CI runs it as root';
  return undefined;
}

/**
 * client ── wifi ── router ── srv (NAT on the router's side unless `nat: false`) ── server,
 * and with `names`, a name server on a third branch: router ── dir (5 ms) ── names.
 */
export function simpleTopology(
  opts: { name?: string; wifi?: Record<string, unknown>; nat?: boolean; names?: boolean } = {},
): Topology {
  const links: Record<string, unknown>[] = [
    {
      name: 'wifi',
      a: { host: 'client', ip: '10.1.0.2/24', gateway: '10.1.0.1' },
      b: { host: 'router', ip: '10.1.0.1/24' },
      ...opts.wifi,
    },
    {
      name: 'srv',
      a: { host: 'router', ip: '10.9.0.1/24', ...(opts.nat === false ? {} : { nat: true }) },
      b: { host: 'server', ip: '10.9.0.2/24', gateway: '10.9.0.1' },
    },
  ];
  const hosts: Record<string, unknown> = { client: {}, router: { forward: true }, server: {} };
  if (opts.names) {
    hosts.names = {};
    links.push({
      name: 'dir',
      a: { host: 'router', ip: '10.8.0.1/24' },
      b: { host: 'names', ip: '10.8.0.2/24', gateway: '10.8.0.1' },
      delay: '5ms',
    });
  }
  return parseTopology({ name: opts.name ?? 'simple', hosts, links });
}

/** Nothing of the lab is left: namespaces, daemon, state. */
export function assertLabGone(id: string): void {
  assert.deepEqual(labNamespaces(id), [], 'namespaces left behind');
  assert.deepEqual(
    wireDaemons().filter((d) => d.labId === id),
    [],
    'wire daemon left running',
  );
  assert.equal(existsSync(stateDir(id)), false, 'state left behind');
}

export async function withLab<T>(topology: Topology, fn: (lab: Lab) => Promise<T>): Promise<T> {
  const lab = await Lab.up(topology);
  try {
    return await fn(lab);
  } finally {
    await lab.down();
  }
}

/** ping from a lab host: the lowest and the median RTT of the replies, and the share lost. */
export async function pingRttMs(
  lab: Lab,
  host: string,
  target: string,
  count: number,
  intervalS: number,
): Promise<{ min: number; median: number; loss: number }> {
  const { stdout } = await lab.exec(
    host,
    ['ping', '-n', '-c', String(count), '-i', String(intervalS), '-W', '2', target],
    { mayFail: true },
  );
  const r = parsePing(stdout);
  return { min: r.minMs, median: r.medianMs, loss: r.loss };
}
