import type { LabState } from '../state.js';
import { labNames } from '../plan/names.js';
import { run } from '../system/run.js';

/**
 * What a fault may change in a lab's namespaces, as the kernel reports it (`ip -j`, `tc -j`):
 * addresses, routes of every table, rules and qdiscs. Entries are sorted so that two
 * snapshots of the same state compare equal whatever order the kernel lists them in.
 */
export type NetSnapshot = Record<string, Record<'addr' | 'route' | 'rule' | 'qdisc', string[]>>;

async function list(argv: string[]): Promise<string[]> {
  const { stdout } = await run(argv);
  const entries = JSON.parse(stdout || '[]') as unknown[];
  return entries.map((e) => JSON.stringify(e)).sort();
}

export function labNamespaceList(state: LabState): string[] {
  const names = labNames(state.id);
  return [
    ...state.topology.hosts.map((h) => names.hostNs(h.name)),
    ...state.topology.links.map((l) => names.linkNs(l.name)),
  ];
}

/** In parallel: it runs before every renumber and rate change, on a possibly loaded host. */
export async function netSnapshot(namespaces: readonly string[]): Promise<NetSnapshot> {
  const entries = await Promise.all(
    namespaces.map(async (ns) => {
      const [addr, route, rule, qdisc] = await Promise.all([
        list(['ip', '-n', ns, '-j', 'addr', 'show']),
        list(['ip', '-n', ns, '-j', 'route', 'show', 'table', 'all']),
        list(['ip', '-n', ns, '-j', 'rule', 'show']),
        list(['tc', '-n', ns, '-j', 'qdisc', 'show']),
      ]);
      return [ns, { addr, route, rule, qdisc }] as const;
    }),
  );
  return Object.fromEntries(entries);
}

/** The first difference between two snapshots, in words, or undefined when they are equal. */
export function snapshotDifference(before: NetSnapshot, after: NetSnapshot): string | undefined {
  for (const [ns, kinds] of Object.entries(before)) {
    for (const [kind, entries] of Object.entries(kinds)) {
      const now = after[ns]?.[kind as keyof NetSnapshot[string]] ?? [];
      const gone = entries.filter((e) => !now.includes(e));
      const added = now.filter((e) => !entries.includes(e));
      if (gone.length || added.length)
        return `${ns} ${kind}: ${gone.length} entries gone, ${added.length} new${added[0] ? ` (e.g. ${added[0]})` : gone[0] ? ` (e.g. ${gone[0]})` : ''}`;
    }
  }
  return undefined;
}
