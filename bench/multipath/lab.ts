// The lab of the multipath benchmarks: a client with one interface per path, a router, and a
// server behind an unlimited link:
//
//   client ── p1 (rate, RTT) ──┐
//   client ── p2 (rate, RTT) ──┼── router ── srv (no limit, no delay) ── server
//   client ── …             ──┘
//
// Each path is its own subnet (10.<i>.0.0/24); the client has a per-source routing table per
// address (the lab does that for interfaces with a gateway), so a socket bound to a path's
// address leaves through that path. The whole RTT and the rate limit of a path sit on its
// client–router link (LAB-NOTES: the anchor topology). The server has one address: every path
// ends at it, as in LAB-NOTES' MPTCP measurements.
import { readFileSync, writeFileSync } from 'node:fs';
import { Lab } from '../../src/lab/lab.js';
import { parseTopology } from '../../src/lab/topology/load.js';
import { option, readOption, type Variables } from '../lib/options.js';

export interface PathSpec {
  /** Link and interface name. */
  name: string;
  rateMbit: number;
  rttMs: number;
}

/** Setting 1 (issue 4): path A 20 Mbit/s 20 ms RTT, path B 8 Mbit/s 80 ms RTT. */
export const SETTING_1: readonly PathSpec[] = [
  { name: 'pa', rateMbit: 20, rttMs: 20 },
  { name: 'pb', rateMbit: 8, rttMs: 80 },
];

/** Setting 2: setting 1 plus path C, 12 Mbit/s 40 ms RTT. */
export const SETTING_2: readonly PathSpec[] = [
  ...SETTING_1,
  { name: 'pc', rateMbit: 12, rttMs: 40 },
];

/**
 * Ten interfaces for the stitching experiment (the OVS paper's ten-interface laptop): rates
 * 5–20 Mbit/s (sum 125), RTTs 20–80 ms, in the order they are added.
 */
export const STITCH_PATHS: readonly PathSpec[] = [
  { name: 'p1', rateMbit: 20, rttMs: 20 },
  { name: 'p2', rateMbit: 8, rttMs: 80 },
  { name: 'p3', rateMbit: 12, rttMs: 40 },
  { name: 'p4', rateMbit: 15, rttMs: 30 },
  { name: 'p5', rateMbit: 5, rttMs: 60 },
  { name: 'p6', rateMbit: 18, rttMs: 24 },
  { name: 'p7', rateMbit: 10, rttMs: 50 },
  { name: 'p8', rateMbit: 6, rttMs: 70 },
  { name: 'p9', rateMbit: 16, rttMs: 36 },
  { name: 'p10', rateMbit: 15, rttMs: 44 },
];

/** The lab's variables: every benchmark that uses MultipathLab spreads them into its spec. */
export const LAB_OPTIONS = {
  // LAB-NOTES: the default here is bbr. cubic is the Linux default elsewhere and what MPTCP's
  // subflows run in practice.
  BENCH_CC: option.text(
    'cubic',
    'TCP congestion control in every namespace of the multipath lab (e.g. bbr)',
    { pattern: /^[a-z0-9_]+$/, rule: 'a congestion control name (a-z, 0-9, _)' },
  ),
} satisfies Variables;

/** Congestion control in every namespace: BENCH_CC, cubic by default. */
export const congestionControl = (): string => readOption('BENCH_CC', LAB_OPTIONS.BENCH_CC);
const ALLOWED_CC = '/proc/sys/net/ipv4/tcp_allowed_congestion_control';

/**
 * A namespace other than the initial one may only make an algorithm its default if it is in
 * the machine's allowed list (the kernel answers EPERM otherwise). Adds it there if missing;
 * returns the list as it was so it can be put back.
 */
function allowCongestionControl(name: string): string | undefined {
  const before = readFileSync(ALLOWED_CC, 'utf8').trim();
  if (before.split(/\s+/).includes(name)) return undefined;
  writeFileSync(ALLOWED_CC, `${before} ${name}`);
  return before;
}

/**
 * The bottleneck queue of a path in packets: one bandwidth-delay product (at least 20
 * packets), the classic rule. cubic fills any queue; the lab's default of 1000 packets would
 * be 1.5 s at 8 Mbit/s and turn every path into a long-RTT one. One BDP keeps a single cubic
 * flow at full rate (it backs off to 0.7 of its window) with at most one RTT of queueing.
 */
export function queuePackets(p: PathSpec): number {
  const bdpBytes = ((p.rateMbit * 1e6) / 8) * (p.rttMs / 1000);
  return Math.max(20, Math.ceil(bdpBytes / 1500));
}

export const SERVER_IP = '10.99.0.2';
export const clientIp = (index: number) => `10.${index + 1}.0.2`;

export function multipathTopology(name: string, paths: readonly PathSpec[]) {
  return parseTopology({
    name,
    hosts: { client: {}, router: { forward: true }, server: {} },
    links: [
      ...paths.map((p, i) => ({
        name: p.name,
        a: { host: 'client', ip: `${clientIp(i)}/24`, gateway: `10.${i + 1}.0.1` },
        b: { host: 'router', ip: `10.${i + 1}.0.1/24` },
        rate: `${p.rateMbit}mbit`,
        delay: p.rttMs / 2,
        queue: queuePackets(p),
      })),
      {
        name: 'srv',
        a: { host: 'router', ip: '10.99.0.1/24' },
        b: { host: 'server', ip: `${SERVER_IP}/24`, gateway: '10.99.0.1' },
      },
    ],
  });
}

export const HOSTS = ['client', 'router', 'server'] as const;

/** Bytes each path's wire carried toward the client (downloads) and toward the router. */
export type PathBytes = Record<string, { down: number; up: number }>;

/** A lab built for the multipath benchmarks, with congestion control and MPTCP set up. */
export class MultipathLab {
  private restoreAllowedCc: string | undefined;

  private constructor(
    readonly lab: Lab,
    readonly paths: readonly PathSpec[],
  ) {}

  static async up(name: string, paths: readonly PathSpec[]): Promise<MultipathLab> {
    const lab = await Lab.up(multipathTopology(name, paths));
    const mp = new MultipathLab(lab, paths);
    try {
      mp.restoreAllowedCc = allowCongestionControl(congestionControl());
      for (const host of HOSTS) {
        await lab.exec(host, [
          'sysctl',
          '-q',
          '-w',
          `net.ipv4.tcp_congestion_control=${congestionControl()}`,
          // Each connection starts from scratch: no ssthresh cached from the previous trial.
          'net.ipv4.tcp_no_metrics_save=1',
          'net.mptcp.enabled=1',
        ]);
      }
      await mp.mptcpEndpoints([]);
    } catch (err) {
      await lab.down();
      throw err;
    }
    return mp;
  }

  clientIp(index: number): string {
    return clientIp(index);
  }

  get clientIps(): string[] {
    return this.paths.map((_, i) => clientIp(i));
  }

  /**
   * MPTCP's in-kernel path manager, both ends: limits as LAB-NOTES (subflows = number of
   * extra paths, at most the kernel's 8), and one `subflow` endpoint on the client for each
   * path index given. The first subflow leaves by the main table's preferred default route
   * (path 0), so endpoints are given for the other paths.
   */
  async mptcpEndpoints(indices: number[]): Promise<void> {
    const limit = String(Math.min(8, Math.max(2, this.paths.length - 1)));
    for (const host of ['client', 'server']) {
      await this.lab.exec(host, ['ip', 'mptcp', 'endpoint', 'flush']);
      await this.lab.exec(host, [
        'ip',
        'mptcp',
        'limits',
        'set',
        'subflow',
        limit,
        'add_addr_accepted',
        limit,
      ]);
    }
    for (const i of indices) await this.mptcpAddEndpoint(i);
  }

  /** Adds one client endpoint; on a live connection the kernel opens a subflow from it at once. */
  async mptcpAddEndpoint(index: number): Promise<void> {
    const p = this.paths[index];
    if (!p) throw new Error(`no path ${index}`);
    await this.lab.exec('client', [
      'ip',
      'mptcp',
      'endpoint',
      'add',
      clientIp(index),
      'dev',
      p.name,
      'subflow',
    ]);
  }

  /** Wire counters per path: bytes delivered toward the client (down) and the router (up). */
  async pathBytes(): Promise<PathBytes> {
    const stats = (await this.lab.stats()) as Record<
      string,
      { ab: { txBytes: number }; ba: { txBytes: number } }
    >;
    const out: PathBytes = {};
    for (const p of this.paths) {
      const s = stats[p.name];
      out[p.name] = { down: s?.ba.txBytes ?? 0, up: s?.ab.txBytes ?? 0 };
    }
    return out;
  }

  /** nstat's MPTCP counters in a host (absolute values). */
  async mptcpCounters(host: string): Promise<Record<string, number>> {
    const { stdout } = await this.lab.exec(host, ['nstat', '-a', '-z', '-j']);
    const all = JSON.parse(stdout) as { kernel?: Record<string, number> };
    return Object.fromEntries(
      Object.entries(all.kernel ?? {}).filter(([k]) => k.startsWith('MPTcp')),
    );
  }

  async down(): Promise<void> {
    await this.lab.down();
    if (this.restoreAllowedCc !== undefined) writeFileSync(ALLOWED_CC, this.restoreAllowedCc);
  }
}

/** Per-path share of the bytes between two `pathBytes()` readings, download direction. */
export function downloadShares(before: PathBytes, after: PathBytes): Record<string, number> {
  const delta = Object.fromEntries(
    Object.keys(after).map((k) => [k, (after[k]?.down ?? 0) - (before[k]?.down ?? 0)]),
  );
  const total = Object.values(delta).reduce((a, b) => a + b, 0);
  return Object.fromEntries(Object.entries(delta).map(([k, v]) => [k, total > 0 ? v / total : 0]));
}
