import { runCommand } from './system.js';

/**
 * What `roam gateway up` may change on its host, as the kernel lists it: policy rules,
 * routes of every table, the iptables rules (without counters and dated comments) and the
 * sysctls it sets. Two snapshots of the same state compare equal whatever the listing order.
 */
export type HostSnapshot = Record<string, string[]>;

const sorted = (text: string): string[] =>
  text
    .split('\n')
    .map((l) => l.replace(/\[\d+:\d+\]/g, '').trimEnd())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .sort();

const BUILTIN_CHAIN = /^:(INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING) /;

/**
 * The rules and the chains of our own that iptables-save lists: a table that merely got
 * loaded lists its built-in chains and policies, which is no change of what the host does.
 */
export function ruleLines(text: string): string[] {
  return sorted(text).filter(
    (l) => l.startsWith('-A ') || (l.startsWith(':') && !BUILTIN_CHAIN.test(l)),
  );
}

export async function hostSnapshot(sysctlKeys: readonly string[]): Promise<HostSnapshot> {
  const [rules, routes, iptables, sysctls] = await Promise.all([
    runCommand({ argv: ['ip', 'rule', 'show'] }),
    runCommand({ argv: ['ip', 'route', 'show', 'table', 'all'] }),
    runCommand({ argv: ['iptables-save'] }),
    sysctlKeys.length
      ? runCommand({ argv: ['sysctl', ...sysctlKeys], mayFail: true })
      : Promise.resolve(''),
  ]);
  return {
    rules: sorted(rules),
    routes: sorted(routes),
    iptables: ruleLines(iptables),
    sysctls: sorted(sysctls),
  };
}

/** The first difference, in words, or undefined when the host is as it was. */
export function hostDifference(before: HostSnapshot, after: HostSnapshot): string | undefined {
  for (const [kind, lines] of Object.entries(before)) {
    const now = after[kind] ?? [];
    const gone = lines.filter((l) => !now.includes(l));
    const added = now.filter((l) => !lines.includes(l));
    if (gone.length || added.length)
      return `${kind}: ${gone.length} gone, ${added.length} new (e.g. ${added[0] ?? gone[0]})`;
  }
  return undefined;
}
