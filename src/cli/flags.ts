import { RoamError } from '../errors.js';

/**
 * Command-line values checked before a command runs, in the unit the user typed. A bad
 * value is a usage error: ROAM_USAGE, exit status 2, like commander's own.
 */
export function usageError(message: string): RoamError {
  return new RoamError('ROAM_USAGE', message);
}

export function portFlag(flag: string, value: string, allowZero = true): number {
  const n = /^\d{1,5}$/.test(value.trim()) ? Number(value) : Number.NaN;
  const min = allowZero ? 0 : 1;
  if (!(n >= min && n <= 65535))
    throw usageError(`${flag} must be a TCP port ${min}..65535, got ${JSON.stringify(value)}`);
  return n;
}

/** A whole number within min..max, reported in `unit` (what the flag is written in). */
export function intFlag(
  flag: string,
  value: string,
  range: { min: number; max: number; unit: string },
): number {
  const n = /^\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!(n >= range.min && n <= range.max))
    throw usageError(
      `${flag} must be a whole number of ${range.unit} within ${range.min}..${range.max}, got ${JSON.stringify(value)}`,
    );
  return n;
}
