import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Lab } from '../../src/lab/lab.js';
import { parseTopology } from '../../src/lab/topology/load.js';
import type { Topology } from '../../src/lab/topology/model.js';
import { askControl } from '../../src/tunnel/control-socket.js';
import { formatKey, generateKeyPair } from '../../src/tunnel/keys.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');
export const PORT = 51820;
export const TARGET = '10.7.0.2';

/**
 *   client ── wifi (5 ms) ──┐
 *          └─ cell (20 ms) ─ router ── srv ── server (roam tunnel serve, NAT) ── dst ── target
 *
 * The target has no route back to the tunnel's 10.99.0.0/24: what reaches it went through NAT.
 */
export function tunnelTopology(
  opts: { wifi?: Record<string, unknown>; cell?: Record<string, unknown> } = {},
): Topology {
  return parseTopology({
    name: 'tunnel',
    hosts: { client: {}, router: { forward: true }, server: { forward: true }, target: {} },
    links: [
      {
        name: 'wifi',
        a: { host: 'client', ip: '10.1.0.2/24', gateway: '10.1.0.1' },
        b: { host: 'router', ip: '10.1.0.1/24' },
        delay: '5ms',
        ...opts.wifi,
      },
      {
        name: 'cell',
        a: { host: 'client', ip: '10.2.0.2/24', gateway: '10.2.0.1' },
        b: { host: 'router', ip: '10.2.0.1/24' },
        delay: '20ms',
        ...opts.cell,
      },
      {
        name: 'srv',
        a: { host: 'router', ip: '10.9.0.1/24' },
        b: { host: 'server', ip: '10.9.0.2/24', gateway: '10.9.0.1' },
      },
      {
        name: 'dst',
        a: { host: 'server', ip: '10.7.0.1/24' },
        b: { host: 'target', ip: '10.7.0.2/24' },
      },
    ],
  });
}

export interface TunnelStatus {
  mode: string;
  active: string | null;
  session: { ageMs: number; handshakes: number } | null;
  paths: {
    interface: string;
    state: string;
    rttMs: number | null;
    txPackets: number;
    rxPackets: number;
  }[];
  counters: Record<string, number>;
}
export interface ServeStatus {
  counters: Record<string, number>;
  refused: Record<string, number>;
  peers: { handshakes: number; mode: string; paths: { id: number; endpointIp?: string }[] }[];
}

/** Both ends of a tunnel as real `roam tunnel` processes inside the lab. */
export class TunnelRig {
  private readonly children: ChildProcess[] = [];
  private readonly dir = mkdtempSync(join(tmpdir(), 'roam-tunnel-test-'));

  private constructor(private readonly lab: Lab) {
    process.env.ROAM_TUNNEL_STATE_DIR = join(this.dir, 'state');
  }

  static async start(
    lab: Lab,
    opts: { mode?: string; extra?: string[]; uplinks?: string[] } = {},
  ): Promise<TunnelRig> {
    const rig = new TunnelRig(lab);
    try {
      const s = generateKeyPair();
      const c = generateKeyPair();
      writeFileSync(join(rig.dir, 's.key'), formatKey(s.privateKey), { mode: 0o600 });
      writeFileSync(join(rig.dir, 'c.key'), formatKey(c.privateKey), { mode: 0o600 });
      await rig.spawn('server', [
        'serve',
        '--name',
        'srv',
        '--key',
        join(rig.dir, 's.key'),
        '--listen',
        `0.0.0.0:${PORT}`,
        '--address',
        '10.99.0.1/24',
        '--peer',
        `${formatKey(c.publicKey)}=10.99.0.2`,
        '--nat-out',
        'dst',
      ]);
      await rig.spawn('client', [
        'up',
        '--name',
        'cli',
        '--key',
        join(rig.dir, 'c.key'),
        '--server',
        `10.9.0.2:${PORT}`,
        '--server-key',
        formatKey(s.publicKey),
        '--address',
        '10.99.0.2/24',
        '--uplink',
        'wifi',
        '--uplink',
        'cell',
        '--route',
        '10.7.0.0/24',
        '--mode',
        opts.mode ?? 'best',
        ...(opts.extra ?? []),
      ]);
      await rig.until(
        'a session and both paths up',
        async () => {
          const st = await rig.client();
          return st.session !== null && st.paths.every((p) => p.state === 'up');
        },
        20_000,
      );
    } catch (err) {
      await rig.stop();
      throw err;
    }
    return rig;
  }

  private spawn(host: string, args: string[]): Promise<void> {
    const child = this.lab.spawn(
      host,
      [process.execPath, CLI, '--log-level', 'warn', 'tunnel', ...args],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: process.env,
      },
    );
    this.children.push(child);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`roam tunnel ${args[0]} not ready in 10 s`)),
        10_000,
      );
      child.stdout?.on('data', (d: Buffer) => {
        if (d.toString().includes('"ready"')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`roam tunnel ${args[0]} exited with ${code}`));
      });
    });
  }

  /** Kills the mobile end outright (a crash: nothing of its own clean-up runs). */
  async crashClient(): Promise<void> {
    const c = this.children[1];
    if (!c || c.exitCode !== null) return;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await gone;
  }

  get cliPath(): string {
    return CLI;
  }

  client(): Promise<TunnelStatus> {
    return askControl('cli', { op: 'status' }) as Promise<TunnelStatus>;
  }
  server(): Promise<ServeStatus> {
    return askControl('srv', { op: 'status' }) as Promise<ServeStatus>;
  }
  mode(mode: string, pin?: string): Promise<unknown> {
    return askControl('cli', { op: 'mode', mode: mode as 'best', pin: pin ?? null });
  }

  /** Waits for a condition on the tunnel's state, checked every 50 ms. */
  async until(what: string, cond: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      if (await cond().catch(() => false)) return;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGTERM');
            setTimeout(() => c.kill('SIGKILL'), 5000).unref();
          }),
      ),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}
