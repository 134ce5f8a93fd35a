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

/** A process that has exited (a zombie waiting for its parent counts) or never was. */
function exited(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state follows the command name, which is in parentheses and may hold spaces.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

/**
 * SIGKILL is delivered at once but the exit is not: a daemon holding tun devices in
 * namespaces being deleted can take a moment to go. Teardown returns once it has, so that
 * "down" means gone (bounded: it checks every 10 ms for at most 5 s).
 */
function waitExited(pids: readonly number[], timeoutMs = 5000): void {
  const tick = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Date.now() + timeoutMs;
  while (pids.some((pid) => !exited(pid)) && Date.now() < deadline) Atomics.wait(tick, 0, 0, 10);
}

export function teardownLabSync(id: string): void {
  const killed: number[] = [];
  for (const d of wireDaemons()) {
    if (d.labId !== id) continue;
    kill(d.pid);
    killed.push(d.pid);
  }
  try {
    const state = readState(id);
    if (state.daemonPid) {
      kill(state.daemonPid);
      killed.push(state.daemonPid);
    }
  } catch {
    // No state: the namespaces may still be there.
  }
  runStepsSync(planDown(labNamespaces(id)));
  waitExited(killed.filter((pid) => pid !== process.pid));
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
