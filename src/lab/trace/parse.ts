import { RoamError } from '../../errors.js';
import { type BandwidthTrace, validateTrace } from './trace.js';

/**
 * Parses a Mahimahi trace: one integer millisecond timestamp per line, non-decreasing; the
 * last timestamp is the period. Blank lines are ignored. Errors name `sourceName` and the line.
 */
export function parseTrace(text: string, sourceName: string): BandwidthTrace {
  const opportunitiesMs: number[] = [];
  let prev = 0;
  let lastLine = 0;
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '') continue;
    const where = `${sourceName} line ${i + 1}`;
    const ms = /^\d+$/.test(line) ? Number(line) : Number.NaN;
    if (!Number.isSafeInteger(ms)) {
      throw new RoamError(
        'ROAM_BAD_INPUT',
        `${where}: expected a non-negative integer millisecond timestamp, got '${line.slice(0, 40)}'`,
      );
    }
    if (ms < prev) {
      throw new RoamError(
        'ROAM_BAD_INPUT',
        `${where}: timestamp ${ms} is before the previous one (${prev}); timestamps must not decrease`,
      );
    }
    opportunitiesMs.push(ms);
    prev = ms;
    lastLine = i + 1;
  }
  if (opportunitiesMs.length === 0) {
    throw new RoamError(
      'ROAM_BAD_INPUT',
      `${sourceName}: no timestamps; a trace needs at least one`,
    );
  }
  if (prev === 0) {
    throw new RoamError(
      'ROAM_BAD_INPUT',
      `${sourceName} line ${lastLine}: the last timestamp is the period and must be > 0`,
    );
  }
  return { opportunitiesMs, periodMs: prev };
}

/** Mahimahi text for a trace, one timestamp per line with a final newline. */
export function formatTrace(trace: BandwidthTrace): string {
  validateTrace(trace);
  return `${trace.opportunitiesMs.join('\n')}\n`;
}
