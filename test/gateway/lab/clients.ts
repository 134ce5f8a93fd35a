import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Lab } from '../../../src/lab/lab.js';
import { monoMs } from '../../../bench/workers/clock.js';
import { LinesProcess } from '../../../bench/workers/lines-process.js';
import { type Served, sha256 } from './content.js';

// Real, unmodified download clients run inside the lab's client host. Each run reports what a
// user would see: did it finish, its exit code, how long, how many bytes, and their SHA-256.

export type CliKind = 'curl' | 'wget' | 'aria2c';

/** Argument lists: defaults only, except where noted (no proxies, quiet, no preallocation). */
export function cliArgv(kind: CliKind, url: string, out: string): string[] {
  switch (kind) {
    case 'curl':
      return ['curl', '-sS', '--noproxy', '*', '-o', out, url];
    case 'wget':
      return ['wget', '-q', '--no-proxy', '-O', out, url];
    case 'aria2c':
      // aria2c preallocates the whole file by default; none lets its size show progress.
      return [
        'aria2c',
        '-q',
        '--file-allocation=none',
        '--allow-overwrite=true',
        '-d',
        dirname(out),
        '-o',
        basename(out),
        url,
      ];
  }
}

export interface ClientResult {
  client: string;
  /** Exited 0 with the expected length and SHA-256. */
  completed: boolean;
  exitCode: number | null;
  /** Killed by the test (deadline) rather than exiting on its own. */
  killed: boolean;
  stderr: string;
  ms: number;
  bytes: number;
  sha256: string;
  /** CLOCK_MONOTONIC ms of the first growth of the output after `markFailure()`. */
  resumedAt?: number;
}

export interface CliRun {
  kind: CliKind;
  /** Call at the failure: from then on the first growth of the file is timestamped. */
  markFailure(): void;
  /** Resolves when the client exits or `kill()` ends it. */
  done: Promise<ClientResult>;
  kill(): void;
}

export function startCli(
  lab: Lab,
  kind: CliKind,
  url: string,
  expected: { size: number; sha256: string },
  label: string = kind,
): CliRun {
  const dir = mkdtempSync(join(tmpdir(), `roam-${kind}-`));
  const out = join(dir, 'download');
  const started = monoMs();
  const child: ChildProcess = lab.spawn('client', cliArgv(kind, url, out), {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  let killed = false;
  let failureSize = -1;
  let resumedAt: number | undefined;
  // inotify on the directory: the file's first growth after the failure, without polling.
  const watcher = watch(dir, () => {
    if (failureSize < 0 || resumedAt !== undefined || !existsSync(out)) return;
    if (statSync(out).size > failureSize) resumedAt = monoMs();
  });
  const done = (async (): Promise<ClientResult> => {
    const [code] = (await once(child, 'exit')) as [number | null];
    watcher.close();
    const ms = monoMs() - started;
    const data = existsSync(out) ? readFileSync(out) : Buffer.alloc(0);
    rmSync(dir, { recursive: true, force: true });
    const hash = sha256(data);
    return {
      client: label,
      completed: code === 0 && data.length === expected.size && hash === expected.sha256,
      exitCode: code,
      killed,
      stderr: stderr.trim().slice(0, 300),
      ms,
      bytes: data.length,
      sha256: hash,
      ...(resumedAt === undefined ? {} : { resumedAt }),
    };
  })();
  return {
    kind,
    markFailure: () => {
      failureSize = existsSync(out) ? statSync(out).size : 0;
    },
    done,
    kill: () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      killed = true;
      child.kill('SIGKILL');
    },
  };
}

/** bytes_received of every established TCP connection of a host to `port` (ss -ti). */
export async function receivedBytes(lab: Lab, host: string, port = 80): Promise<number[]> {
  const { stdout } = await lab.exec(
    host,
    ['ss', '-tinH', 'state', 'established', `( dport = :${port} )`],
    {
      mayFail: true,
    },
  );
  return [...stdout.matchAll(/bytes_received:(\d+)/g)].map((m) => Number(m[1]));
}

/**
 * Waits until `count` connections of the client host to `port` have each received at least
 * `bytes` (the failure point), polling the kernel's socket table. Throws after `timeoutMs`.
 */
export async function waitReceived(
  lab: Lab,
  count: number,
  bytes: number,
  { port = 80, timeoutMs = 60_000 } = {},
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const got = await receivedBytes(lab, 'client', port);
    if (got.filter((b) => b >= bytes).length >= count) return;
    if (performance.now() > deadline)
      throw new Error(
        `timed out waiting for ${count} connections past ${bytes} B: ${got.join(', ')}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface ChromiumRun {
  /** Resolves when the browser has closed: one result per item (image, media, download). */
  done: Promise<ClientResult[]>;
  /** Closes the browser now; items still loading are reported as stalled. */
  stop(): void;
}

const CHROMIUM_WORKER = join(
  dirname(fileURLToPath(import.meta.url)),
  'fixtures',
  'chromium-worker.js',
);

/**
 * Headless Chromium in the client host opening `base`/page.html (content.ts writePage):
 * the image and fetch() download must have the expected SHA-256, the media element must
 * play to its end.
 */
export function startChromium(
  lab: Lab,
  base: string,
  expected: { image: Served; download: Served },
): ChromiumRun {
  const profile = mkdtempSync(join(tmpdir(), 'roam-chromium-'));
  const started = monoMs();
  const worker = new LinesProcess(lab, 'client', [
    process.execPath,
    CHROMIUM_WORKER,
    JSON.stringify({ base, userDataDir: profile, page: 'page.html', timeoutMs: 240_000 }),
  ]);
  const done = (async (): Promise<ClientResult[]> => {
    await worker.exited;
    rmSync(profile, { recursive: true, force: true });
    const end = worker.events.find((e) =>
      ['done', 'stopped', 'timeout', 'error'].includes(e.event),
    );
    const killed = end?.event === 'stopped' || end?.event === 'timeout';
    return (['image', 'media', 'download'] as const).map((item): ClientResult => {
      const r = worker.events.find((e) => e.event === 'result' && e.item === item);
      const label = `chromium ${item === 'download' ? 'fetch()' : item}`;
      const want =
        item === 'image' ? expected.image : item === 'download' ? expected.download : undefined;
      const bytes = typeof r?.bytes === 'number' ? r.bytes : 0;
      const hash = typeof r?.sha256 === 'string' ? r.sha256 : '';
      const ok =
        r !== undefined &&
        r.error === undefined &&
        (want === undefined ? r.ended === true : bytes === want.size && hash === want.sha256);
      return {
        client: label,
        completed: ok,
        exitCode: null,
        killed: r === undefined && killed,
        stderr: String(
          r?.error ?? (r === undefined ? (end?.error ?? end?.event ?? 'no result') : ''),
        ),
        ms: (r?.t ?? monoMs()) - started,
        bytes,
        sha256: hash,
      };
    });
  })();
  return { done, stop: () => worker.send('stop') };
}
