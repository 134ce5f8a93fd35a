// roam tunnel against wireguard-go and OpenVPN 2.6 (userspace, AES-256-GCM) on one unshaped
// veth between two namespaces, in the same run: one TCP stream's goodput, the CPU time the
// tunnel processes of both ends spend per GB carried, and the RTT each adds at idle.
// Anchor: the plain veth. Root; Debian packages iperf3, wireguard-go, wireguard-tools, openvpn.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { newLabId } from '../src/lab/plan/names.js';
import { run, runSteps } from '../src/lab/system/run.js';
import { packageRoot } from '../src/package-root.js';
import { formatKey, generateKeyPair } from '../src/tunnel/keys.js';
import { benchOptions, option } from './lib/options.js';
import { publish } from './report.js';

const { values: opt } = benchOptions({
  name: 'tunnel',
  summary:
    'roam tunnel against wireguard-go and OpenVPN 2.6 on one unshaped veth: TCP Gbit/s, CPU per GB, idle latency (root, iperf3, openvpn, wireguard-go)',
  variables: {
    BENCH_SECONDS: option.number(8, 'seconds of each iperf3 run', { integer: true, min: 1 }),
  },
});
const SECONDS = opt.BENCH_SECONDS;
const id = newLabId();
const A = `${id}-ta`;
const B = `${id}-tb`;
const dir = mkdtempSync(join(tmpdir(), 'roam-bench-tunnel-'));
const CLI = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');
const children: ChildProcess[] = [];
const HZ = 100; // USER_HZ: /proc/PID/stat counts CPU in 1/100 s

const inNs = (ns: string, argv: string[]) => run(['ip', 'netns', 'exec', ns, ...argv]);

/** Starts a long-running process in a namespace; resolves once `ready` shows in its output. */
function start(ns: string, argv: string[], ready: string): Promise<ChildProcess> {
  const child = spawn('ip', ['netns', 'exec', ns, ...argv], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ROAM_TUNNEL_STATE_DIR: join(dir, 'state') },
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(
      () => reject(new Error(`${argv[0]} not ready in 15 s: ${seen}`)),
      15_000,
    );
    const onData = (d: Buffer) => {
      seen = (seen + d.toString()).slice(-2000);
      if (seen.includes(ready)) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${argv.join(' ')} exited with ${code}: ${seen}`));
    });
  });
}

async function stopAll(): Promise<void> {
  await Promise.all(
    children.splice(0).map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGTERM');
          setTimeout(() => c.kill('SIGKILL'), 5000).unref();
        }),
    ),
  );
}

function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(f[11]) + Number(f[12]); // utime, stime
  }
  return ticks / HZ;
}

async function measure(target: string, pids: number[]) {
  const server = await start(B, ['iperf3', '-s', '-1', '--forceflush'], 'Server listening');
  const cpu0 = cpuSeconds(pids);
  const { stdout } = await inNs(A, [
    'iperf3',
    '-c',
    target,
    '-t',
    String(SECONDS),
    '-C',
    'cubic',
    '-J',
  ]);
  const cpu1 = cpuSeconds(pids);
  server.kill('SIGKILL');
  const r = JSON.parse(stdout) as {
    end: { sum_received: { bits_per_second: number; bytes: number } };
  };
  const p = await inNs(A, ['ping', '-n', '-q', '-c', '30', '-i', '0.05', target]);
  const m = /= ([\d.]+)\/([\d.]+)\//.exec(p.stdout);
  const gb = r.end.sum_received.bytes / 1e9;
  return {
    gbit: r.end.sum_received.bits_per_second / 1e9,
    cpuSecondsPerGB: pids.length ? (cpu1 - cpu0) / gb : undefined,
    rttMs: Number(m?.[2]),
  };
}

async function roam() {
  const s = generateKeyPair();
  const c = generateKeyPair();
  writeFileSync(join(dir, 'rs.key'), formatKey(s.privateKey), { mode: 0o600 });
  writeFileSync(join(dir, 'rc.key'), formatKey(c.privateKey), { mode: 0o600 });
  const srv = await start(
    B,
    [
      process.execPath,
      CLI,
      'tunnel',
      'serve',
      '--name',
      `${id.slice(2)}s`,
      '--key',
      join(dir, 'rs.key'),
      '--listen',
      '10.66.0.2:51820',
      '--address',
      '10.99.0.1/24',
      '--peer',
      `${formatKey(c.publicKey)}=10.99.0.2`,
      '--device',
      'roamb',
    ],
    '"ready"',
  );
  const cli = await start(
    A,
    [
      process.execPath,
      CLI,
      'tunnel',
      'up',
      '--name',
      `${id.slice(2)}c`,
      '--key',
      join(dir, 'rc.key'),
      '--server',
      '10.66.0.2:51820',
      '--server-key',
      formatKey(s.publicKey),
      '--address',
      '10.99.0.2/24',
      '--uplink',
      'eth0',
      '--route',
      '10.99.0.1/32',
      '--device',
      'roama',
    ],
    '"ready"',
  );
  // The session is up once a ping answers.
  for (let i = 0; i < 50; i++) {
    const p = await run(['ip', 'netns', 'exec', A, 'ping', '-c', '1', '-W', '1', '10.99.0.1'], {
      mayFail: true,
    });
    if (p.stdout.includes('1 received')) break;
  }
  try {
    return await measure('10.99.0.1', [srv.pid ?? 0, cli.pid ?? 0]);
  } finally {
    await stopAll();
  }
}

async function wireguard() {
  const [ka, kb] = [generateKeyPair(), generateKeyPair()];
  const ends = [
    {
      ns: A,
      dev: `wg${id.slice(2)}a`,
      key: ka,
      peer: kb,
      addr: '10.98.0.1/24',
      peerAddr: '10.98.0.2/32',
      endpoint: '10.66.0.2:51821',
      port: '51820',
    },
    {
      ns: B,
      dev: `wg${id.slice(2)}b`,
      key: kb,
      peer: ka,
      addr: '10.98.0.2/24',
      peerAddr: '10.98.0.1/32',
      endpoint: '10.66.0.1:51820',
      port: '51821',
    },
  ];
  const pids: number[] = [];
  try {
    for (const e of ends) {
      // -f: foreground, so the process we measure and stop is the one moving packets.
      const child = spawn('ip', ['netns', 'exec', e.ns, 'wireguard-go', '-f', e.dev], {
        stdio: 'ignore',
        env: { ...process.env, WG_PROCESS_FOREGROUND: '1' },
      });
      children.push(child);
      pids.push(child.pid ?? 0);
      const keyFile = join(dir, `${e.dev}.key`);
      writeFileSync(keyFile, formatKey(e.key.privateKey), { mode: 0o600 });
      for (let i = 0; i < 100; i++) {
        const r = await run(['ip', 'netns', 'exec', e.ns, 'wg', 'show', e.dev], { mayFail: true });
        if (r.stdout.includes('interface')) break;
        await new Promise((res) => setTimeout(res, 50));
      }
      await inNs(e.ns, [
        'wg',
        'set',
        e.dev,
        'private-key',
        keyFile,
        'listen-port',
        e.port,
        'peer',
        formatKey(e.peer.publicKey),
        'allowed-ips',
        e.peerAddr,
        'endpoint',
        e.endpoint,
      ]);
      await inNs(e.ns, ['ip', 'addr', 'add', e.addr, 'dev', e.dev]);
      await inNs(e.ns, ['ip', 'link', 'set', e.dev, 'mtu', '1420', 'up']);
    }
    await run(['ip', 'netns', 'exec', A, 'ping', '-c', '3', '-i', '0.2', '10.98.0.2'], {
      mayFail: true,
    });
    return await measure('10.98.0.2', pids);
  } finally {
    await stopAll();
  }
}

async function openvpn() {
  // TLS with self-signed certificates checked by fingerprint (OpenVPN 2.6's peer-fingerprint):
  // AES-256-GCM needs TLS mode; DCO off, so the data path is OpenVPN's userspace one.
  const fp: string[] = [];
  for (const n of ['a', 'b']) {
    await run([
      'openssl',
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      `/CN=${n}`,
      '-keyout',
      join(dir, `${n}.key`),
      '-out',
      join(dir, `${n}.crt`),
    ]);
    const { stdout } = await run([
      'openssl',
      'x509',
      '-in',
      join(dir, `${n}.crt`),
      '-noout',
      '-fingerprint',
      '-sha256',
    ]);
    fp.push(stdout.trim().split('=')[1] ?? '');
  }
  const common = [
    '--dev-type',
    'tun',
    '--proto',
    'udp',
    '--cipher',
    'AES-256-GCM',
    '--data-ciphers',
    'AES-256-GCM',
    '--disable-dco',
    '--verb',
    '3',
    '--tun-mtu',
    '1400',
    '--ping',
    '10',
  ];
  const bReady = start(
    B,
    [
      'openvpn',
      '--dev',
      `ov${id.slice(2)}b`,
      ...common,
      '--lport',
      '1194',
      '--ifconfig',
      '10.97.0.2',
      '10.97.0.1',
      '--tls-server',
      '--dh',
      'none',
      '--cert',
      join(dir, 'b.crt'),
      '--key',
      join(dir, 'b.key'),
      '--peer-fingerprint',
      fp[0] ?? '',
    ],
    'Initialization Sequence Completed',
  );
  const aReady = start(
    A,
    [
      'openvpn',
      '--dev',
      `ov${id.slice(2)}a`,
      ...common,
      '--remote',
      '10.66.0.2',
      '1194',
      '--nobind',
      '--ifconfig',
      '10.97.0.1',
      '10.97.0.2',
      '--tls-client',
      '--cert',
      join(dir, 'a.crt'),
      '--key',
      join(dir, 'a.key'),
      '--peer-fingerprint',
      fp[1] ?? '',
    ],
    'Initialization Sequence Completed',
  );
  const [a, b] = await Promise.all([aReady, bReady]);
  try {
    return await measure('10.97.0.2', [a.pid ?? 0, b.pid ?? 0]);
  } finally {
    await stopAll();
  }
}

await runSteps([
  { argv: ['ip', 'netns', 'add', A] },
  { argv: ['ip', 'netns', 'add', B] },
  {
    argv: [
      'ip',
      '-n',
      A,
      'link',
      'add',
      'name',
      'eth0',
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      B,
    ],
  },
  { argv: ['ip', '-n', A, 'addr', 'add', '10.66.0.1/24', 'dev', 'eth0'] },
  { argv: ['ip', '-n', B, 'addr', 'add', '10.66.0.2/24', 'dev', 'eth0'] },
  { argv: ['ip', '-n', A, 'link', 'set', 'dev', 'eth0', 'up'] },
  { argv: ['ip', '-n', B, 'link', 'set', 'dev', 'eth0', 'up'] },
  { argv: ['ip', '-n', A, 'link', 'set', 'dev', 'lo', 'up'] },
  { argv: ['ip', '-n', B, 'link', 'set', 'dev', 'lo', 'up'] },
]);
try {
  const veth = await measure('10.66.0.2', []);
  const rows = { roam: await roam(), wireguardGo: await wireguard(), openvpn: await openvpn() };
  const result = {
    inputs: {
      seconds: SECONDS,
      congestionControl: 'cubic',
      tool: 'iperf3 TCP, one stream, A → B',
      link: 'one veth, no shaping',
    },
    anchor: { plainVeth: veth },
    ...rows,
    ratios: {
      roamVsOpenvpn: rows.roam.gbit / rows.openvpn.gbit,
      roamVsWireguardGo: rows.roam.gbit / rows.wireguardGo.gbit,
    },
  };
  console.table({ veth, ...rows });
  const line = (name: string, r: { gbit: number; cpuSecondsPerGB?: number; rttMs: number }) =>
    `| ${name} | ${r.gbit.toFixed(2)} | ${r.cpuSecondsPerGB?.toFixed(2) ?? ''} | ${r.rttMs.toFixed(3)} | ${(r.rttMs - veth.rttMs).toFixed(3)} |`;
  const md = [
    '## tunnel',
    '',
    `One TCP stream (iperf3, cubic, ${SECONDS} s) through each tunnel over one unshaped veth between two namespaces, all in the same run. CPU: user + system time of both ends' tunnel processes per GB received (kernel softirq work is not in it). The host is shared with other work: throughput is noisy (load average ${loadavg()[0]?.toFixed(1)} at the end of the run).`,
    '',
    '| path | TCP Gbit/s | CPU s per GB | idle RTT ms | added RTT ms |',
    '|---|---|---|---|---|',
    line('plain veth (anchor)', veth),
    line('roam tunnel (ChaCha20-Poly1305, C data path)', rows.roam),
    line('wireguard-go + wireguard-tools', rows.wireguardGo),
    line('OpenVPN 2.6 userspace, AES-256-GCM', rows.openvpn),
    '',
    `roam / OpenVPN: ${result.ratios.roamVsOpenvpn.toFixed(2)} × (goal ≥ 2); roam / wireguard-go: ${result.ratios.roamVsWireguardGo.toFixed(2)} × (goal ≥ 1).`,
    '',
    'Reproduce: `npm run bench -- tunnel` (root).',
  ].join('\n');
  publish('tunnel', result, md);
} finally {
  await stopAll();
  await runSteps([
    { argv: ['ip', 'netns', 'del', A], mayFail: true },
    { argv: ['ip', 'netns', 'del', B], mayFail: true },
  ]);
  rmSync(dir, { recursive: true, force: true });
}
