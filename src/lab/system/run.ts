import { execFile, execFileSync } from 'node:child_process';
import { RoamError } from '../../errors.js';
import { rootLogger } from '../../log/logger.js';
import type { Step } from '../plan/step.js';

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs one command; a non-zero exit becomes ROAM_LAB_COMMAND with the command and its stderr. */
export function run(
  argv: string[],
  options: { mayFail?: boolean; input?: string } = {},
): Promise<RunResult> {
  const [file, ...args] = argv;
  if (!file) throw new RoamError('ROAM_BAD_INPUT', 'empty command');
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      rootLogger().debug({ argv, code }, 'lab command');
      if (code !== 0 && !options.mayFail) {
        const reason = (stderr || err?.message || '').trim().split('\n').slice(-2).join(' ');
        reject(
          new RoamError(
            'ROAM_LAB_COMMAND',
            `\`${argv.join(' ')}\` failed (exit ${code}): ${reason}`,
          ),
        );
        return;
      }
      resolve({ stdout, stderr, code });
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

export async function runSteps(steps: readonly Step[]): Promise<void> {
  for (const step of steps) await run(step.argv, { mayFail: step.mayFail });
}

/** Synchronous variant for exit hooks, where no promise will ever settle. */
export function runStepsSync(steps: readonly Step[]): void {
  for (const step of steps) {
    const [file, ...args] = step.argv;
    if (!file) continue;
    try {
      execFileSync(file, args, { stdio: 'ignore' });
    } catch {
      // Best effort: this runs while the process is going down.
    }
  }
}
