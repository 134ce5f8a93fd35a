import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { RoamError } from '../../errors.js';
import { parseCidr } from '../../net/ipv4.js';
import { parseOneLine, yamlErrorLine } from '../../input/issues.js';
import type { DirectionSpec, Endpoint, Topology } from './model.js';
import { type TopologyInput, type TopologyParsed, topologySchema } from './schema.js';
import { resolveTracePath } from './trace-path.js';

export { BUILTIN_TRACES, resolveTracePath } from './trace-path.js';

/** Validates and normalizes a topology given as data; `source` names it in errors. */
export function parseTopology(
  input: unknown,
  source = 'topology',
  baseDir = process.cwd(),
): Topology {
  const result = parseOneLine(topologySchema, input, source);
  if (!result.ok) throw new RoamError('ROAM_LAB_TOPOLOGY', result.message);
  return normalize(result.data, baseDir);
}

/** Reads a YAML or JSON topology file (JSON is YAML too). */
export function loadTopology(file: string): Topology {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new RoamError(
      'ROAM_LAB_TOPOLOGY',
      `cannot read topology file ${file}: ${(err as Error).message}`,
    );
  }
  let data: unknown;
  try {
    data = parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    throw new RoamError('ROAM_LAB_TOPOLOGY', yamlErrorLine(file, err));
  }
  return parseTopology(data, file, dirname(resolve(file)));
}

function normalize(t: TopologyParsed, baseDir: string): Topology {
  const endpoint = (
    ep: TopologyParsed['links'][number]['a'],
    linkName: string,
    order: number,
  ): Endpoint => {
    const cidr = parseCidr(ep.ip);
    if (!cidr) throw new RoamError('ROAM_LAB_TOPOLOGY', `bad address ${ep.ip}`);
    return {
      host: ep.host,
      ifname: ep.ifname ?? linkName,
      ip: cidr.ip,
      prefixLen: cidr.prefixLen,
      gateway: ep.gateway,
      nat: ep.nat,
      kind: ep.kind,
      metric: ep.metric ?? 100 + order,
    };
  };
  type Link = TopologyParsed['links'][number];
  const direction = (link: Link, dir: 'up' | 'down'): DirectionSpec => {
    const d = link[dir] ?? {};
    const trace = d.trace ?? link.trace ?? null;
    return {
      rateBps: d.rate ?? link.rate ?? Number.POSITIVE_INFINITY,
      delayMs: d.delay ?? link.delay ?? 0,
      jitterMs: d.jitter ?? link.jitter ?? 0,
      loss: d.loss ?? link.loss ?? 0,
      trace: trace === null ? null : resolveTracePath(trace, baseDir),
    };
  };
  return {
    name: t.name,
    hosts: Object.entries(t.hosts).map(([name, h]) => ({
      name,
      forward: h.forward,
      routes: h.routes,
    })),
    links: t.links.map((link, i) => ({
      name: link.name,
      a: endpoint(link.a, link.name, i),
      b: endpoint(link.b, link.name, i),
      up: direction(link, 'up'),
      down: direction(link, 'down'),
      queuePackets: link.queue,
    })),
    schedule: t.schedule
      .map((s) => ({
        atMs: s.at,
        link: s.link,
        kind: s.fault,
        side: s.side,
        value: s.value,
        announce: s.announce,
      }))
      .sort((x, y) => x.atMs - y.atMs),
  };
}

export type { TopologyInput };
