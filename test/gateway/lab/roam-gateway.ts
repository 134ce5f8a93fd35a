import { type ChildProcess, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import type { Lab } from '../../../src/lab/lab.js';
import { packageRoot } from '../../../src/package-root.js';
import { EventLog } from '../../lab/event-log.js';
import { ORIGIN, UPLINK_A, UPLINK_B } from './topology.js';

const CLI = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');

// `roam gateway up` inside the lab's gateway host, in one of three ways — the only thing
// that differs between compared runs:
//   splice  roam as meant: port 80 intercepted, live responses move (FloMiS)
//   rst     no interception; flows on a failed uplink are reset at once (fastReset: the
//           paper's "TCP RST" case)
//   nat     no interception, no resets: a plain Linux NAT gateway whose failed uplink only
//           stops getting new flows (the paper's "timeout" case)
export type Mode = 'splice' | 'rst' | 'nat';

export interface GatewayEvent {
  msg: string;
  /** Wall clock, ms (pino's `time`). */
  time: number;
  [field: string]: unknown;
}

export interface RoamGatewayOptions {
  mode: Mode;
  /** Uplink weights for new flows (default 1 each). */
  weights?: { a: number; b: number };
  stallMs?: number;
  probeIntervalMs?: number;
}

/** The gateway's config for the lab of topology.ts. */
export function gatewayConfig(name: string, opts: RoamGatewayOptions): Record<string, unknown> {
  return {
    name,
    lan: { interface: 'lan' },
    uplinks: [
      { name: 'a', interface: UPLINK_A.link, gateway: UPLINK_A.next, weight: opts.weights?.a ?? 1 },
      { name: 'b', interface: UPLINK_B.link, gateway: UPLINK_B.next, weight: opts.weights?.b ?? 1 },
    ],
    // A closed port answers with a reset, which proves the path as well as a SYN-ACK.
    probes: { targets: [`${ORIGIN}:9`], intervalMs: opts.probeIntervalMs ?? 100 },
    health: { stallMs: opts.stallMs ?? 1000, recoverProbes: 3 },
    http: { intercept: opts.mode === 'splice', port: 3129, splice: opts.mode === 'splice' },
    fastReset: opts.mode !== 'nat',
  };
}

/** A running `roam gateway up`; its info-level log lines (migration, splice, …) as events. */
export class RoamGateway {
  readonly name = `t${randomBytes(3).toString('hex')}`;
  private readonly log = new EventLog<GatewayEvent>();
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;
  private readonly dir: string;

  private constructor(
    private readonly lab: Lab,
    opts: RoamGatewayOptions,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'roam-gw-config-'));
    const config = join(this.dir, 'gateway.json');
    writeFileSync(config, JSON.stringify(gatewayConfig(this.name, opts)));
    this.child = lab.spawn(
      'gateway',
      [process.execPath, CLI, '--log-level', 'info', 'gateway', 'up', '--config', config],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => {
        this.log.push({ msg: 'exit', code, signal, level: 50, time: Date.now() });
        resolve();
      }),
    );
    const take = (line: string) => {
      let e: GatewayEvent;
      try {
        e = JSON.parse(line) as GatewayEvent;
      } catch {
        // Not a log line: a crash's stack trace, say. Kept, as a warning.
        e = { msg: 'output', line, level: 50, time: Date.now() };
      }
      if (typeof e.msg !== 'string' && typeof e.event === 'string') e.msg = e.event;
      this.log.push(e);
    };
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on('line', take);
    createInterface({ input: this.child.stderr as NodeJS.ReadableStream }).on('line', take);
  }

  /** Starts the gateway and waits for its `ready` line. */
  static async up(lab: Lab, opts: RoamGatewayOptions): Promise<RoamGateway> {
    const gw = new RoamGateway(lab, opts);
    try {
      await gw.waitFor((e) => e.msg === 'ready', { what: 'roam gateway ready', timeoutMs: 30_000 });
    } catch (err) {
      await gw.stop();
      throw err;
    }
    return gw;
  }

  get events(): GatewayEvent[] {
    return this.log.events;
  }

  get mark(): number {
    return this.log.mark;
  }

  waitFor(
    match: (e: GatewayEvent) => boolean,
    { from = 0, timeoutMs = 15_000, what = 'gateway event' } = {},
  ): Promise<GatewayEvent> {
    return this.log.waitFor(match, { from, timeoutMs, what });
  }

  /** The gateway's process (pid) as seen from the host: for CPU and memory figures. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** SIGTERM (it restores the namespace), then `roam gateway down` for whatever is left. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await this.exited;
    await promisify(execFile)('ip', [
      'netns',
      'exec',
      this.lab.ns('gateway'),
      process.execPath,
      CLI,
      'gateway',
      'down',
      '--name',
      this.name,
    ]).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
