import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lab } from '../../../src/lab/lab.js';

export const NGINX = '/usr/sbin/nginx';

export interface NginxOptions {
  /** Address to listen on inside the host. */
  address: string;
  port?: number;
  /** Directory served as the document root. */
  root: string;
  /**
   * Serve the first `paceAfter` bytes of a response at full speed, then `paceRate` bytes/s —
   * for requests without a Range or with `bytes=0-` only; other ranges (resumes) are never
   * paced. Lets a test fail an uplink while every download is mid-way, at a known point.
   */
  paceAfter?: string;
  paceRate?: string;
  /** Pace every request, ranges too (an audio-rate stream). */
  paceRanges?: boolean;
}

export interface Nginx {
  /** One line per request: `range if-range status bytes_sent user_agent`. */
  accessLog(): string[];
  stop(): Promise<void>;
}

/** nginx.conf for one test: everything (pid, logs, temp files) inside `prefix`. */
export function nginxConfig(prefix: string, opts: NginxOptions): string {
  const pace = opts.paceAfter !== undefined && opts.paceRate !== undefined;
  return `daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile 65536;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 4096; }
http {
  types { text/html html; image/png png; audio/wav wav; video/webm webm; application/octet-stream bin; }
  default_type application/octet-stream;
  log_format roam '"$http_range" "$http_if_range" $status $bytes_sent "$http_user_agent"';
  access_log ${prefix}/access.log roam;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  sendfile on;
  keepalive_timeout 75s;
  map $http_range $roam_pace { "" ${pace ? opts.paceRate : '0'}; "bytes=0-" ${pace ? opts.paceRate : '0'}; default ${pace && opts.paceRanges ? opts.paceRate : '0'}; }
  server {
    listen ${opts.address}:${opts.port ?? 80};
    root ${opts.root};
    ${pace ? `limit_rate_after ${opts.paceAfter};` : ''}
    limit_rate $roam_pace;
  }
}
`;
}

/** nginx in the foreground inside a lab host, with a config generated for this run. */
export async function startNginx(lab: Lab, host: string, opts: NginxOptions): Promise<Nginx> {
  const prefix = mkdtempSync(join(tmpdir(), 'roam-nginx-'));
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(conf, nginxConfig(prefix, opts));
  const check = await lab.exec(host, [NGINX, '-t', '-q', '-p', prefix, '-c', conf], {
    mayFail: true,
  });
  if (check.code !== 0) {
    rmSync(prefix, { recursive: true, force: true });
    throw new Error(`nginx -t failed: ${check.stderr}`);
  }
  const child: ChildProcess = lab.spawn(host, [NGINX, '-p', prefix, '-c', conf], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = once(child, 'exit');
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(prefix, { recursive: true, force: true });
  };
  // Ready when it accepts a connection: nginx has no readiness signal in the foreground.
  try {
    await waitListening(lab, host, opts.address, opts.port ?? 80, () => stderr);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    accessLog: () => {
      const path = join(prefix, 'access.log');
      return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
    },
    stop,
  };
}

/** Waits until a TCP listener shows up in the host's socket table (ss), up to 10 s. */
export async function waitListening(
  lab: Lab,
  host: string,
  address: string,
  port: number,
  why: () => string = () => '',
): Promise<void> {
  const deadline = performance.now() + 10_000;
  for (;;) {
    const { stdout } = await lab.exec(host, ['ss', '-tlnH', `src ${address}:${port}`], {
      mayFail: true,
    });
    if (stdout.trim() !== '') return;
    if (performance.now() > deadline)
      throw new Error(`nothing listens on ${address}:${port} in ${host}: ${why()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
