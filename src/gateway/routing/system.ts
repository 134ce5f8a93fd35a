import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { RoamError } from '../../errors.js';
import { rootLogger } from '../../log/logger.js';
import type { Command } from './command.js';

export const GatewayRoutingCode = {
  Command: 'ROAM_GATEWAY_COMMAND',
  Uplink: 'ROAM_GATEWAY_UPLINK',
} as const;

/** Runs commands in order; a failure (unless mayFail) is ROAM_GATEWAY_COMMAND with stderr. */
export async function runCommands(
  commands: readonly Command[],
  netns?: string | null,
): Promise<void> {
  for (const c of commands) await runCommand(c, netns);
}

function wrap(argv: readonly string[], netns: string | null | undefined): string[] {
  return netns ? ['ip', 'netns', 'exec', netns, ...argv] : [...argv];
}

export function runCommand(c: Command, netns?: string | null): Promise<string> {
  const [file, ...args] = wrap(c.argv, netns);
  if (!file) return Promise.resolve('');
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      rootLogger().debug({ argv: c.argv, code }, 'gateway command');
      if (code !== 0 && !c.mayFail) {
        const reason = (stderr || err?.message || '').trim().split('\n').slice(-2).join(' ');
        reject(
          new RoamError(
            GatewayRoutingCode.Command,
            `\`${c.argv.join(' ')}\` failed (exit ${code}): ${reason}`,
          ),
        );
        return;
      }
      resolve(stdout);
    });
    if (c.input !== undefined) child.stdin?.end(c.input);
  });
}

/** Synchronous, best effort: for exit hooks and `roam gateway down`. */
export function runCommandsSync(commands: readonly Command[], netns?: string | null): void {
  for (const c of commands) {
    const [file, ...args] = wrap(c.argv, netns);
    if (!file) continue;
    try {
      execFileSync(file, args, { stdio: ['pipe', 'ignore', 'ignore'], input: c.input });
    } catch {
      // Best effort: what is already gone stays gone.
    }
  }
}

const sysctlPath = (key: string): string => `/proc/sys/${key.replace(/\./g, '/')}`;

/** Current values of these sysctls in this process's namespace (missing ones left out). */
export function readSysctls(keys: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of keys) {
    try {
      out[key] = readFileSync(sysctlPath(key), 'utf8').trim();
    } catch {
      // e.g. nf_conntrack_acct before the module is loaded; set and restore skip it.
    }
  }
  return out;
}

export function sysctlCommands(values: Record<string, string>): Command[] {
  return Object.entries(values).map(([k, v]) => ({
    argv: ['sysctl', '-qw', `${k}=${v}`],
    mayFail: true,
  }));
}

/** The named network namespace this process runs in, or null (the host's, or unnamed). */
export function currentNetns(): string | null {
  try {
    const out = execFileSync('ip', ['netns', 'identify', String(process.pid)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return out === '' ? null : (out.split('\n')[0] ?? null);
  } catch {
    return null;
  }
}

export interface InterfaceAddress {
  readonly up: boolean;
  readonly addresses: ReadonlyArray<{ readonly ip: string; readonly prefixLen: number }>;
}

/** An interface's state and IPv4 addresses; undefined when it does not exist. */
export async function interfaceAddress(ifname: string): Promise<InterfaceAddress | undefined> {
  let out: string;
  try {
    // Not `-4`: it would leave out an interface that has no IPv4 address yet.
    out = await runCommand({ argv: ['ip', '-j', 'addr', 'show', 'dev', ifname] });
  } catch {
    return undefined;
  }
  const parsed = JSON.parse(out || '[]') as Array<{
    flags?: string[];
    operstate?: string;
    addr_info?: Array<{ local?: string; prefixlen?: number; family?: string }>;
  }>;
  const dev = parsed[0];
  if (!dev) return undefined;
  return {
    up: (dev.flags ?? []).includes('UP') && dev.operstate !== 'DOWN',
    addresses: (dev.addr_info ?? [])
      .filter((a) => a.family === 'inet' && a.local !== undefined && a.prefixlen !== undefined)
      .map((a) => ({ ip: a.local as string, prefixLen: a.prefixlen as number })),
  };
}
