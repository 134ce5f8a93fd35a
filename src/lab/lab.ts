import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { RoamError } from '../errors.js';
import { rootLogger } from '../log/logger.js';
import { packageRoot } from '../package-root.js';
import { applyFault, type FaultResult } from './fault/apply.js';
import { type FaultOptions, parseFault } from './fault/fault.js';
import { type LabNames, labNames, newLabId } from './plan/names.js';
import { planUp } from './plan/up.js';
import { daemonLogPath, type LabState, listLabIds, readState, writeState } from './state.js';
import { type RunResult, run, runSteps } from './system/run.js';
import { teardownLabSync } from './teardown.js';
import { loadTopology } from './topology/load.js';
import type { Topology } from './topology/model.js';
import { controlRequest } from './wire/control-client.js';

export interface LabUpOptions {
  /**
   * Tie the lab to this process (default): it is removed when this process exits, and the
   * wire daemon removes it if this process dies without a chance to clean up (SIGKILL).
   * `roam lab up` passes false so the lab outlives the command.
   */
  owned?: boolean;
}

const owned = new Set<string>();
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const id of owned) teardownLabSync(id);
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const id of owned) teardownLabSync(id);
      owned.clear();
      process.kill(process.pid, signal);
    });
  }
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** A running lab: namespaces, wires and the daemon that drives them. */
export class Lab {
  readonly id: string;
  readonly names: LabNames;

  private constructor(id: string) {
    this.id = id;
    this.names = labNames(id);
  }

  /** Builds a lab from a topology (or a topology file) and starts its wires. */
  static async up(topology: Topology | string, options: LabUpOptions = {}): Promise<Lab> {
    if (!isRoot()) {
      throw new RoamError(
        'ROAM_LAB_NEEDS_ROOT',
        'the lab needs root (network namespaces, tun devices); run as root',
      );
    }
    const topo = typeof topology === 'string' ? loadTopology(topology) : topology;
    const id = newLabId();
    const ownedByUs = options.owned ?? true;
    const state: LabState = {
      version: 1,
      id,
      topology: topo,
      createdAt: new Date().toISOString(),
      ownerPid: ownedByUs ? process.pid : null,
      daemonPid: null,
    };
    // State first, so that a crash from here on leaves something `down --all` can find.
    writeState(state);
    if (ownedByUs) {
      installExitHooks();
      owned.add(id);
    }
    const log = rootLogger().child({ lab: id });
    try {
      const started = performance.now();
      await runSteps(planUp(topo, labNames(id)));
      state.daemonPid = await startDaemon(id, state.ownerPid);
      writeState(state);
      log.info({ ms: Math.round(performance.now() - started), topology: topo.name }, 'lab up');
    } catch (err) {
      teardownLabSync(id);
      owned.delete(id);
      throw err;
    }
    return new Lab(id);
  }

  /** A lab that is already up: by id, or the only one when id is omitted. */
  static attach(id?: string): Lab {
    if (id === undefined) {
      const ids = listLabIds();
      if (ids.length === 0)
        throw new RoamError('ROAM_LAB_NOT_UP', 'no lab is up; start one with `roam lab up FILE`');
      if (ids.length > 1)
        throw new RoamError(
          'ROAM_LAB_AMBIGUOUS',
          `several labs are up (${ids.join(', ')}); pick one with --lab ID`,
        );
      id = ids[0] as string;
    }
    readState(id);
    return new Lab(id);
  }

  get state(): LabState {
    return readState(this.id);
  }

  get topology(): Topology {
    return this.state.topology;
  }

  ns(host: string): string {
    if (!this.topology.hosts.some((h) => h.name === host)) {
      throw new RoamError(
        'ROAM_LAB_NO_SUCH_HOST',
        `lab ${this.id} has no host "${host}" (hosts: ${this.topology.hosts.map((h) => h.name).join(', ')})`,
      );
    }
    return this.names.hostNs(host);
  }

  /** The current address of a host's interface (after any renumbering). */
  address(host: string, ifname?: string): string {
    for (const link of this.topology.links) {
      for (const ep of [link.a, link.b]) {
        if (ep.host === host && (ifname === undefined || ep.ifname === ifname)) return ep.ip;
      }
    }
    throw new RoamError(
      'ROAM_LAB_NO_SUCH_HOST',
      `no interface ${ifname ?? ''} on host "${host}" in lab ${this.id}`,
    );
  }

  /** Runs a command inside a host's namespace and collects its output. */
  exec(host: string, argv: string[], options: { mayFail?: boolean } = {}): Promise<RunResult> {
    return run(['ip', 'netns', 'exec', this.ns(host), ...argv], options);
  }

  /** Starts a long-running process inside a host's namespace; the caller stops it. */
  spawn(host: string, argv: string[], options: SpawnOptions = {}): ChildProcess {
    return spawn('ip', ['netns', 'exec', this.ns(host), ...argv], options);
  }

  async fault(
    link: string,
    kind: string,
    value?: string | number,
    options: FaultOptions = {},
  ): Promise<FaultResult> {
    const result = await applyFault(this.state, link, parseFault(kind, value, options));
    rootLogger().info({ lab: this.id, link, fault: result.fault, to: result.to }, 'fault applied');
    return result;
  }

  /** Per link and direction: frames and bytes through the wire, drops by cause. */
  stats(): Promise<Record<string, unknown>> {
    return controlRequest(this.id, { op: 'stats' }) as Promise<Record<string, unknown>>;
  }

  async down(): Promise<void> {
    await controlRequest(this.id, { op: 'shutdown' }).catch(() => undefined);
    teardownLabSync(this.id);
    owned.delete(this.id);
  }
}

/** Starts the wire daemon and waits for its `ready` line. */
function startDaemon(id: string, ownerPid: number | null): Promise<number> {
  const entry = join(packageRoot(), 'dist', 'src', 'lab', 'wire', 'daemon-main.js');
  const args = [entry, '--roam-lab-wire', id];
  if (ownerPid !== null) args.push('--owner', String(ownerPid));
  const logFd = openSync(daemonLogPath(id), 'a', 0o600);
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', 'pipe', logFd] });
  closeSync(logFd);
  return new Promise((resolve, reject) => {
    let out = '';
    const done = (err?: Error) => {
      child.stdout?.removeAllListeners();
      child.removeAllListeners('exit');
      child.stdout?.destroy();
      child.unref();
      if (err) reject(err);
      else resolve(child.pid as number);
    };
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      out += chunk;
      if (out.startsWith('ready\n')) done();
      else if (out.includes('\n'))
        done(new RoamError('ROAM_LAB_DAEMON', `wire daemon failed: ${out.trim()}`));
    });
    child.once('exit', (code) =>
      done(
        new RoamError(
          'ROAM_LAB_DAEMON',
          `wire daemon exited (${code}) before it was ready; see ${daemonLogPath(id)}`,
        ),
      ),
    );
  });
}
