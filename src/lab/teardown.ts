import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { LAB_NAMESPACE_PATTERN } from './plan/names.js';
import { planDown } from './plan/up.js';
import { listLabIds, readState, removeState } from './state.js';
import { runStepsSync } from './system/run.js';

/**
 * Removing a lab: stop its wire daemon, delete its namespaces (which takes every interface,
 * route, rule and NAT rule inside with them), delete its state. Synchronous on purpose: it
 * also runs from exit hooks and from the daemon when the test that owned the lab died.
 */

export function labNamespaces(id?: string): string[] {
  let out: string;
  try {
    out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  } catch {
    return [];
  }
  return out
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((ns) => {
      const m = LAB_NAMESPACE_PATTERN.exec(ns);
      return m !== null && (id === undefined || m[1] === id);
    });
}

/** Wire daemons by lab id, found from their command lines (they may outlive their state). */
export function wireDaemons(): { pid: number; labId: string }[] {
  const found: { pid: number; labId: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    const args = cmdline.split('\0');
    const marker = args.indexOf('--roam-lab-wire');
    const labId = marker >= 0 ? args[marker + 1] : undefined;
    if (labId) found.push({ pid: Number(entry), labId });
  }
  return found;
}

function kill(pid: number): void {
  if (pid === process.pid) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

export function teardownLabSync(id: string): void {
  for (const d of wireDaemons()) if (d.labId === id) kill(d.pid);
  try {
    const state = readState(id);
    if (state.daemonPid) kill(state.daemonPid);
  } catch {
    // No state: the namespaces may still be there.
  }
  runStepsSync(planDown(labNamespaces(id)));
  removeState(id);
}

/** Every lab on this machine, including leftovers of crashed runs. Returns the ids removed. */
export function teardownAllSync(): string[] {
  const ids = new Set<string>(listLabIds());
  for (const d of wireDaemons()) ids.add(d.labId);
  for (const ns of labNamespaces()) {
    const m = LAB_NAMESPACE_PATTERN.exec(ns);
    if (m?.[1]) ids.add(m[1]);
  }
  for (const id of ids) teardownLabSync(id);
  return [...ids].sort();
}
