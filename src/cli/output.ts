import { RoamError } from '../errors.js';

export { output, printJson } from '../terminal/output.js';

/** One clear line on stderr and a non-zero exit code: what happened, and the code to look up. */
export function fail(err: unknown): never {
  if (err instanceof RoamError) {
    process.stderr.write(`roam: ${err.message} [${err.code}]\n`);
    process.exit(1);
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`roam: unexpected error: ${message}\n`);
  if (process.env.ROAM_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  process.exit(70);
}
