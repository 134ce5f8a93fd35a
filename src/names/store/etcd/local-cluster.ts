import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { namesError } from '../../codes.js';

export interface LocalEtcdMember {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  /** False once the member's process has exited. */
  readonly alive: boolean;
  /** Sends a signal (SIGKILL by default) and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts a stopped member again on its data directory; resolves once it serves clients. */
  restart(): Promise<void>;
}

export interface LocalEtcdCluster {
  readonly members: readonly LocalEtcdMember[];
  /** Client URLs of every member, for EtcdStore's `endpoints`. */
  readonly endpoints: string[];
  /** The member raft says leads now (asks the living members). */
  leader(): Promise<LocalEtcdMember>;
  /** Kills every member still running and removes the data directories. Idempotent. */
  stop(): Promise<void>;
}

export interface LocalEtcdOptions {
  members?: number;
  /** The etcd binary (default `etcd` on the PATH: Debian's etcd-server). */
  binary?: string;
  /** How long the cluster may take to serve clients (default 30 s). */
  readyTimeoutMs?: number;
}

/**
 * An etcd cluster of real etcd processes on loopback, for tests, benchmarks and local
 * trials: free ports, a temporary data directory, ready when every member serves clients
 * (its log says so; no polling). `stop()` kills the processes and removes the directory;
 * a start that fails cleans up before it throws.
 */
export async function startLocalEtcd(opts: LocalEtcdOptions = {}): Promise<LocalEtcdCluster> {
  const count = opts.members ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > 7)
    throw namesError('ROAM_NAMES_CONFIG', 'a local etcd cluster has 1 to 7 members');
  const dir = mkdtempSync(join(tmpdir(), 'roam-etcd-'));
  const ports = await freePorts(2 * count);
  const specs = Array.from({ length: count }, (_, i) => ({
    name: `m${i}`,
    clientUrl: `http://127.0.0.1:${ports[2 * i]}`,
    peerUrl: `http://127.0.0.1:${ports[2 * i + 1]}`,
  }));
  const initial = specs.map((s) => `${s.name}=${s.peerUrl}`).join(',');
  const token = `roam-${randomUUID()}`;
  const members = specs.map(
    (s) => new Member(s.name, s.clientUrl, s.peerUrl, opts.binary ?? 'etcd', dir, initial, token),
  );
  let stopped: Promise<void> | undefined;
  const cluster: LocalEtcdCluster = {
    members,
    endpoints: members.map((m) => m.clientUrl),
    leader: () => findLeader(members),
    stop: () =>
      (stopped ??= (async () => {
        await Promise.all(members.map((m) => m.kill()));
        rmSync(dir, { recursive: true, force: true });
      })()),
  };
  const timeoutMs = opts.readyTimeoutMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.all(members.map((m) => m.ready)),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new Error(
                `etcd did not serve clients within ${timeoutMs} ms: ${members.map((m) => m.tail()).join('\n')}`,
              ),
            ),
          timeoutMs,
        );
      }),
    ]);
  } catch (err) {
    await cluster.stop();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return cluster;
}

class Member implements LocalEtcdMember {
  ready!: Promise<void>;
  private proc!: ChildProcess;
  private exited!: Promise<void>;
  private log = '';
  private readonly args: string[];
  alive = false;

  constructor(
    readonly name: string,
    readonly clientUrl: string,
    readonly peerUrl: string,
    private readonly binary: string,
    dir: string,
    initial: string,
    token: string,
  ) {
    this.args = [
      `--name=${name}`,
      `--data-dir=${join(dir, name)}`,
      `--listen-client-urls=${clientUrl}`,
      `--advertise-client-urls=${clientUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=${initial}`,
      `--initial-cluster-token=${token}`,
      '--initial-cluster-state=new',
      '--logger=zap',
      '--log-outputs=stderr',
    ];
    this.start();
  }

  private start(): void {
    const proc = spawn(this.binary, this.args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc = proc;
    this.alive = true;
    this.exited = new Promise((resolve) =>
      proc.once('exit', () => {
        if (this.proc === proc) this.alive = false;
        resolve();
      }),
    );
    this.ready = new Promise((resolve, reject) => {
      proc.once('error', (err) =>
        reject(new Error(`cannot run ${this.binary} (is etcd-server installed?): ${err.message}`)),
      );
      const stderr = proc.stderr;
      if (!stderr) return reject(new Error('etcd has no stderr pipe'));
      stderr.setEncoding('utf8');
      stderr.on('data', (chunk: string) => {
        // Keep only the end of the log, for error messages.
        this.log = (this.log + chunk).slice(-8192);
        if (chunk.includes('"serving client traffic')) resolve();
      });
      void this.exited.then(() => reject(new Error(`etcd ${this.name} exited: ${this.tail()}`)));
    });
    this.ready.catch(() => undefined);
  }

  tail(): string {
    return `[${this.name}] ${this.log.slice(-2000)}`;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.alive) this.proc.kill(signal);
    await this.exited;
  }

  async restart(): Promise<void> {
    if (this.alive) throw new Error(`etcd ${this.name} is running`);
    this.start();
    await this.ready;
  }
}

async function findLeader(members: readonly Member[]): Promise<LocalEtcdMember> {
  for (const m of members.filter((x) => x.alive)) {
    const client = new Etcd3({ hosts: m.clientUrl });
    try {
      const status = await client.maintenance.status({ deadline: Date.now() + 2000 });
      if (status.leader === '0') continue;
      for (const other of members.filter((x) => x.alive)) {
        const c = other === m ? client : new Etcd3({ hosts: other.clientUrl });
        try {
          const s = await c.maintenance.status({ deadline: Date.now() + 2000 });
          if (s.header.member_id === status.leader) return other;
        } finally {
          if (c !== client) c.close();
        }
      }
    } catch {
      // this member cannot say: ask the next
    } finally {
      client.close();
    }
  }
  throw new Error('no living etcd member knows a leader');
}

/** Ports the kernel gives to listeners on port 0, held together so they differ. */
async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = createServer();
      servers.push(s);
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(0, '127.0.0.1', () => resolve());
      });
    }
    return servers.map((s) => (s.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}
