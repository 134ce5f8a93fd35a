import { execFile, spawn } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { packageRoot } from '../../../src/package-root.js';
import { consoleSteps, type DocBlock, docBlocks, outputMatches } from './blocks.js';

/**
 * Runs a document's blocks the way a reader would, in order, in a scratch folder that holds
 * this checkout's dist/, examples/ and traces/ and has `roam` on PATH. Labs and gateways it
 * starts are recorded in the scratch folder's own state folders (ROAM_LAB_STATE_DIR,
 * ROAM_GATEWAY_STATE_DIR), so `roam lab status` without --lab sees only the document's lab
 * on a machine where other labs are up, and whatever is left is removed afterwards, also
 * after a failure. Rejects with `FILE:LINE: what went wrong`.
 */

export interface DocRun {
  blocks: number;
  /** Blocks skipped because they need root. */
  skipped: number;
}

const ROOT = packageRoot();

function sh(q: string): string {
  return `'${q.replace(/'/g, `'\\''`)}'`;
}

function tsconfig(): string {
  return JSON.stringify({
    compilerOptions: {
      target: 'es2022',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      strict: true,
      noUncheckedIndexedAccess: true,
      skipLibCheck: true,
      types: ['node'],
      typeRoots: [join(ROOT, 'node_modules', '@types')],
      outDir: 'js',
    },
    include: ['ts/*.ts'],
  });
}

function run(
  argv: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const [file, ...args] = argv;
    execFile(
      file ?? 'false',
      args,
      { cwd: opts.cwd, env: opts.env, timeout: opts.timeoutMs, maxBuffer: 8 << 20 },
      (err, stdout, stderr) =>
        resolve({
          code: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
          output: `${stdout}${stderr}`,
        }),
    );
  });
}

/** Runs the document's blocks; `file` is relative to the package root or absolute. */
export async function runDoc(
  file: string,
  opts: { root: boolean; timeoutMs?: number },
): Promise<DocRun> {
  const path = file.startsWith('/') ? file : join(ROOT, file);
  const name = relative(ROOT, path);
  const { blocks, errors } = docBlocks(readFileSync(path, 'utf8'));
  if (errors.length) throw new Error(`${name}: ${errors.join('; ')}`);
  const runnable = blocks.filter((b) => opts.root || !b.needsRoot);
  const result: DocRun = { blocks: runnable.length, skipped: blocks.length - runnable.length };
  if (runnable.length === 0) return result;
  // A document's later blocks may use what a skipped one made: skip it whole.
  if (result.skipped) return { blocks: 0, skipped: blocks.length };

  const dir = mkdtempSync(join(tmpdir(), 'roam-doctest-'));
  const state = { lab: join(dir, '.state', 'lab'), gateway: join(dir, '.state', 'gateway') };
  try {
    for (const d of ['dist', 'examples', 'traces', 'node_modules'])
      symlinkSync(join(ROOT, d), join(dir, d));
    mkdirSync(join(dir, '.doctest', 'bin'), { recursive: true });
    mkdirSync(join(dir, '.doctest', 'ts'), { recursive: true });
    mkdirSync(join(dir, '.doctest', 'out'), { recursive: true });
    mkdirSync(state.lab, { recursive: true });
    mkdirSync(state.gateway, { recursive: true });
    const shim = join(dir, '.doctest', 'bin', 'roam');
    writeFileSync(
      shim,
      `#!/bin/sh\nexec ${sh(process.execPath)} ${sh(join(ROOT, 'dist', 'src', 'cli', 'main.js'))} "$@"\n`,
    );
    chmodSync(shim, 0o755);
    // `import … from 'roam'` in a snippet is this package.
    mkdirSync(join(dir, '.doctest', 'node_modules'), { recursive: true });
    symlinkSync(ROOT, join(dir, '.doctest', 'node_modules', 'roam'));
    writeFileSync(join(dir, '.doctest', 'package.json'), '{ "type": "module" }\n');
    writeFileSync(join(dir, '.doctest', 'tsconfig.json'), tsconfig());

    const script: string[] = ['set -euo pipefail'];
    const checks: { at: string; file: string; expected: string[]; command: string }[] = [];
    let ts = 0;
    for (const b of runnable) {
      const at = `${name}:${b.line}`;
      script.push(`echo ${sh(at)} > .doctest/at`);
      script.push(...blockScript(b, at, checks, () => ts++));
    }
    if (ts > 0) {
      for (const [i, b] of runnable.filter((x) => x.kind === 'ts').entries())
        writeFileSync(join(dir, '.doctest', 'ts', `block${i}.ts`), b.body);
      const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
      const compiled = await run([process.execPath, tsc, '-p', '.doctest/tsconfig.json'], {
        cwd: dir,
        timeoutMs: 120_000,
      });
      if (compiled.code !== 0) {
        const first = compiled.output.trim().split('\n')[0] ?? '';
        const m = /ts\/block(\d+)\.ts\((\d+),\d+\)/.exec(first);
        const block = runnable.filter((x) => x.kind === 'ts')[Number(m?.[1] ?? 0)];
        const line = (block?.line ?? 0) + Number(m?.[2] ?? 0);
        throw new Error(`${name}:${line}: the TypeScript block does not compile: ${first}`);
      }
    }
    writeFileSync(join(dir, '.doctest', 'script.sh'), `${script.join('\n')}\n`);
    const outcome = await shell(dir, state, opts.timeoutMs ?? 300_000);
    if (outcome.code !== 0) {
      let at = name;
      try {
        at = readFileSync(join(dir, '.doctest', 'at'), 'utf8').trim();
      } catch {
        // the script failed before its first block
      }
      const tail = outcome.output.trim().split('\n').slice(-3).join(' | ');
      throw new Error(`${at}: the block failed (exit ${outcome.code}): ${tail}`);
    }
    for (const c of checks) {
      const actual = trimEnd(
        readFileSync(join(dir, '.doctest', 'out', c.file), 'utf8').split('\n'),
      );
      if (!outputMatches(trimEnd(c.expected), actual))
        throw new Error(
          `${c.at}: \`${c.command}\` printed ${JSON.stringify(actual.join('\n'))}, the document shows ${JSON.stringify(trimEnd(c.expected).join('\n'))}`,
        );
    }
    return result;
  } finally {
    await cleanUp(dir, state);
    rmSync(dir, { recursive: true, force: true });
  }
}

function trimEnd(lines: string[]): string[] {
  const out = [...lines];
  while (out.length && out[out.length - 1]?.trim() === '') out.pop();
  return out;
}

function blockScript(
  b: DocBlock,
  at: string,
  checks: { at: string; file: string; expected: string[]; command: string }[],
  nextTs: () => number,
): string[] {
  switch (b.kind) {
    case 'sh':
      return [b.body];
    case 'ts':
      return [`node .doctest/js/block${nextTs()}.js`];
    case 'console':
      return consoleSteps(b.body).map((step) => {
        const file = `${checks.length}.txt`;
        checks.push({ at, file, expected: step.expected, command: step.command });
        return `{ ${step.command}\n} > .doctest/out/${file} 2>&1`;
      });
    default: {
      const never: never = b.kind;
      return never;
    }
  }
}

/** Runs the script in its own process group, so that what it left running can be stopped. */
function shell(
  dir: string,
  state: { lab: string; gateway: string },
  timeoutMs: number,
): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['.doctest/script.sh'], {
      cwd: dir,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        PATH: `${join(dir, '.doctest', 'bin')}:${process.env.PATH ?? ''}`,
        ROAM_LAB_STATE_DIR: state.lab,
        ROAM_GATEWAY_STATE_DIR: state.gateway,
      },
    });
    let output = '';
    const keep = (c: Buffer) => {
      output = `${output}${c.toString()}`.slice(-16_384);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => {
      output += `\n(stopped after ${timeoutMs} ms)`;
      killGroup(child.pid);
    }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      // Background commands of the document (servers) are still in its group: stop them.
      killGroup(child.pid);
      resolve({ code: code ?? (signal ? 128 : 1), output });
    });
  });
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    // the group is gone
  }
}

/** Gateways, then labs, recorded in the scratch folder's own state folders. */
async function cleanUp(dir: string, state: { lab: string; gateway: string }): Promise<void> {
  const env = {
    ...process.env,
    ROAM_LAB_STATE_DIR: state.lab,
    ROAM_GATEWAY_STATE_DIR: state.gateway,
  };
  const roam = [process.execPath, join(ROOT, 'dist', 'src', 'cli', 'main.js')];
  const list = (d: string) => {
    try {
      return readdirSync(d);
    } catch {
      return [];
    }
  };
  if (list(state.gateway).length)
    await run([...roam, 'gateway', 'down', '--all'], { cwd: dir, env, timeoutMs: 60_000 });
  for (const id of list(state.lab))
    await run([...roam, 'lab', 'down', '--lab', id], { cwd: dir, env, timeoutMs: 60_000 });
}
