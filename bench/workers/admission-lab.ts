// The lab of the admission test and benchmark (issue 11): a server, honest clients, and
// attacker hosts, each on a link of its own to one router, no NAT (the server sees every
// source address as it is). The host "many" has MANY_ADDRESSES addresses on one link.
//
//   honest ─┐
//   att1 ───┤
//   att2 ───┼── router ── srv ── server
//   att3 ───┤
//   many ───┘ (10.5.0.2 and 10.5.0.10 .. 10.5.0.10+N-1)
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Lab } from '../../src/lab/lab.js';
import { parseTopology } from '../../src/lab/topology/load.js';
import type { Topology } from '../../src/lab/topology/model.js';

export const ADMISSION_PEER = join(dirname(fileURLToPath(import.meta.url)), 'admission-peer.js');
export const SERVER_IP = '10.9.0.2';
export const ATTACKERS = ['att1', 'att2', 'att3'] as const;

const SUBNETS: Record<string, number> = { honest: 1, att1: 2, att2: 3, att3: 4, many: 5 };

export function admissionTopology(delay = '1ms'): Topology {
  const hosts: Record<string, unknown> = { router: { forward: true }, server: {} };
  const links: Record<string, unknown>[] = [
    {
      name: 'srv',
      a: { host: 'router', ip: '10.9.0.1/24' },
      b: { host: 'server', ip: `${SERVER_IP}/24`, gateway: '10.9.0.1' },
    },
  ];
  for (const [host, n] of Object.entries(SUBNETS)) {
    hosts[host] = {};
    links.push({
      name: host,
      a: { host, ip: `10.${n}.0.2/24`, gateway: `10.${n}.0.1` },
      b: { host: 'router', ip: `10.${n}.0.1/24` },
      delay,
    });
  }
  return parseTopology({ name: 'admission', hosts, links });
}

/** Adds `n` more addresses to the host "many"; returns them all (comma-separated). */
export async function manyAddresses(lab: Lab, n: number): Promise<string> {
  const list = ['10.5.0.2'];
  for (let i = 0; i < n; i++) {
    const ip = `10.5.0.${10 + i}`;
    await lab.exec('many', ['ip', 'addr', 'add', `${ip}/24`, 'dev', 'many']);
    list.push(ip);
  }
  return list.join(',');
}

/** The q-quantile (0..1) of `values`, nearest rank; NaN for none. */
export function quantile(values: number[], q: number): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
}
