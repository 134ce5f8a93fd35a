/**
 * Human units in topology files and fault commands, parsed here and nowhere else: rates such
 * as "20mbit", "1.5gbit", "800kbit", a plain number of bits per second, or "unlimited";
 * durations such as "10ms", "2s", "1.5m"
 * or a plain number of milliseconds. Pure parsing, errors are plain strings for the caller
 * to attach to a field.
 */

const RATE_UNITS: Record<string, number> = {
  '': 1,
  bit: 1,
  kbit: 1e3,
  mbit: 1e6,
  gbit: 1e9,
};

/**
 * tc reads "bps", "kbps", "mbps" as bytes per second, people usually mean bits: refused
 * rather than guessed, with the spelling that says bits.
 */
const BYTE_UNITS: Record<string, [bits: string, bytesWord: string, bitsWord: string]> = {
  bps: ['bit', 'bytes', 'bit/s'],
  kbps: ['kbit', 'kilobytes', 'kbit/s'],
  mbps: ['mbit', 'megabytes', 'Mbit/s'],
  gbps: ['gbit', 'gigabytes', 'Gbit/s'],
};

const DURATION_UNITS: Record<string, number> = { '': 1, ms: 1, s: 1000, m: 60_000, us: 0.001 };

export type Parsed = { ok: true; value: number } | { ok: false; error: string };

function parseWithUnits(
  input: unknown,
  units: Record<string, number>,
  what: string,
  example: string,
): Parsed {
  if (typeof input === 'number') {
    return Number.isFinite(input) && input >= 0
      ? { ok: true, value: input }
      : { ok: false, error: `${what} must be a finite number >= 0, got ${input}` };
  }
  if (typeof input !== 'string') {
    return { ok: false, error: `${what} must be a number or a string such as "${example}"` };
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(input);
  const unit = match?.[2]?.toLowerCase() ?? '';
  const factor = units[unit];
  if (!match || factor === undefined) {
    const known = Object.keys(units).filter(Boolean).join(', ');
    return {
      ok: false,
      error: `${what} "${input}" is not understood; use e.g. "${example}" (units: ${known})`,
    };
  }
  return { ok: true, value: Number(match[1]) * factor };
}

/**
 * Bits per second of a link's rate limit: "unlimited" is Infinity; 0 is refused (it would
 * be a stall, which `stall` says plainly), in a topology file and in `fault rate` alike.
 */
export function parseRate(input: unknown): Parsed {
  if (typeof input === 'string') {
    const text = input.trim().toLowerCase();
    if (text === 'unlimited') return { ok: true, value: Number.POSITIVE_INFINITY };
    const m = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/.exec(text);
    const bytes = m?.[2] === undefined ? undefined : BYTE_UNITS[m[2]];
    if (m && bytes)
      return {
        ok: false,
        error: `rate "${input}" is ambiguous: tc reads ${m[2]} as ${bytes[1]} per second; write "${m[1]}${bytes[0]}" for ${m[1]} ${bytes[2]}`,
      };
  }
  const parsed = parseWithUnits(input, RATE_UNITS, 'rate', '20mbit');
  if (parsed.ok && parsed.value === 0)
    return {
      ok: false,
      error: 'rate 0 would be a stall; use the stall fault, or "unlimited" for no limit',
    };
  return parsed;
}

/** Milliseconds. */
export function parseDuration(input: unknown): Parsed {
  return parseWithUnits(input, DURATION_UNITS, 'duration', '10ms');
}

/** Loss as a probability; accepts 0.01 or "1%". */
export function parseLoss(input: unknown): Parsed {
  if (typeof input === 'string' && input.trim().endsWith('%')) {
    const n = Number(input.trim().slice(0, -1));
    if (Number.isFinite(n) && n >= 0 && n <= 100) return { ok: true, value: n / 100 };
  } else {
    const n = typeof input === 'string' && input.trim() !== '' ? Number(input) : input;
    if (typeof n === 'number' && Number.isFinite(n) && n >= 0 && n <= 1)
      return { ok: true, value: n };
  }
  return {
    ok: false,
    error: `loss must be a probability within 0..1 or a percentage such as "2%", got ${JSON.stringify(input)}`,
  };
}

export function formatRate(bps: number): string {
  if (!Number.isFinite(bps)) return 'unlimited';
  if (bps >= 1e9) return `${+(bps / 1e9).toFixed(3)}gbit`;
  if (bps >= 1e6) return `${+(bps / 1e6).toFixed(3)}mbit`;
  if (bps >= 1e3) return `${+(bps / 1e3).toFixed(3)}kbit`;
  return `${bps}bit`;
}
