import { Option } from 'commander';
import { RoamError } from '../errors.js';

export { output, printJson } from '../terminal/output.js';

/**
 * `--json` on each command that reports state, so its `--help` says so; the same flag before
 * the command (`roam --json lab status`) works too.
 */
export function jsonOption(): Option {
  return new Option('--json', 'print machine-readable JSON instead of text');
}

/** One clear line on stderr and a non-zero exit code: what happened, and the code to look up. */
export function fail(err: unknown): never {
  if (err instanceof RoamError) {
    process.stderr.write(`roam: ${err.message} [${err.code}]\n`);
    // A bad flag value is a usage error, like commander's own: exit 2 (README, docs).
    process.exit(err.code === 'ROAM_USAGE' ? 2 : 1);
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`roam: unexpected error: ${message}\n`);
  if (process.env.ROAM_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  process.exit(70);
}
