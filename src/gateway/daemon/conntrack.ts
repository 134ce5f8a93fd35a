import { readFile } from 'node:fs/promises';
import type { GatewayConfig } from '../config/model.js';
import { markMask, uplinkMark } from '../routing/plan.js';
import type { ForwardedFlow } from '../status/model.js';

/** One connection from /proc/net/nf_conntrack, as the LAN client opened it. */
export interface ConntrackEntry {
  readonly protocol: string;
  /** TCP state (ESTABLISHED…), undefined for other protocols. */
  readonly state: string | undefined;
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
  /** Bytes both ways (needs nf_conntrack_acct). */
  readonly bytes: number;
  readonly mark: number;
}

/** Parses /proc/net/nf_conntrack (IPv4 lines; others skipped). Pure. */
export function parseConntrack(text: string): ConntrackEntry[] {
  const out: ConntrackEntry[] = [];
  for (const line of text.split('\n')) {
    const tokens = line.trim().split(/\s+/);
    if (tokens[0] !== 'ipv4' || tokens.length < 6) continue;
    const protocol = tokens[2] ?? '?';
    const first: Record<string, string> = {};
    let bytes = 0;
    let mark = 0;
    let state: string | undefined;
    for (const t of tokens.slice(5)) {
      const eq = t.indexOf('=');
      if (eq < 0) {
        if (protocol === 'tcp' && state === undefined && /^[A-Z_]+$/.test(t)) state = t;
        continue;
      }
      const key = t.slice(0, eq);
      const value = t.slice(eq + 1);
      if (key === 'bytes') bytes += Number(value);
      else if (key === 'mark') mark = Number(value);
      else if (!(key in first)) first[key] = value;
    }
    if (!first.src || !first.dst) continue;
    out.push({
      protocol,
      state,
      src: first.src,
      dst: first.dst,
      sport: Number(first.sport ?? 0),
      dport: Number(first.dport ?? 0),
      bytes,
      mark,
    });
  }
  return out;
}

export async function readConntrack(): Promise<ConntrackEntry[]> {
  try {
    return parseConntrack(await readFile('/proc/net/nf_conntrack', 'utf8'));
  } catch {
    return [];
  }
}

/** The connections marked for one of the gateway's uplinks, as status shows them. Pure. */
export function forwardedFlows(
  entries: readonly ConntrackEntry[],
  config: GatewayConfig,
): ForwardedFlow[] {
  const mask = markMask(config);
  const out: ForwardedFlow[] = [];
  for (const e of entries) {
    const index = config.uplinks.findIndex((_, i) => (e.mark & mask) === uplinkMark(config, i));
    const uplink = config.uplinks[index];
    if (!uplink) continue;
    out.push({
      protocol: e.protocol,
      client: `${e.src}:${e.sport}`,
      server: `${e.dst}:${e.dport}`,
      uplink: uplink.name,
      bytes: e.bytes,
    });
  }
  return out;
}
