// Typed BENCH_* options. Each benchmark declares, at the top of its file, every environment
// variable it reads (type, default, one line), gets typed values back, and `--help` lists them
// all before the benchmark does any work. Shared modules export their variables as a fragment
// (bench/multipath/lab.ts `LAB_OPTIONS`) that each benchmark using them spreads into its spec.
// (No literal variable names in this file's comments: bench-help.test.ts reads them as used.)
//
//   const { values, flags } = benchOptions({
//     name: 'migration-time', summary: '...', flags: { quick: '...' },
//     variables: { [NAME]: option.number(5, 'moves of each kind', { integer: true, min: 1 }) },
//   });
import type { z } from 'zod';

export type OptionType = 'number' | 'numbers' | 'words' | 'text' | 'flag' | 'JSON';

type Parsed<T> = { ok: true; value: T } | { ok: false; rule: string };

export interface OptionSpec<T> {
  readonly type: OptionType;
  readonly default: T;
  /** How --help shows the default when it is not a plain value (e.g. "3; 1 with --quick"). */
  readonly shownDefault?: string;
  readonly description: string;
  parse(raw: string): Parsed<T>;
}

export type Variables = Record<`BENCH_${string}`, OptionSpec<unknown>>;

export interface BenchSpec<V extends Variables, F extends string = never> {
  /** The benchmark's name as `npm run bench -- NAME` takes it. */
  readonly name: string;
  /** One line: what it measures and what it needs (root, a lab). */
  readonly summary: string;
  /** Command-line flags (without the leading --) and what each does. */
  readonly flags?: Record<F, string>;
  readonly variables: V;
}

export type Values<V extends Variables> = {
  [K in keyof V]: V[K] extends OptionSpec<infer T> ? T : never;
};

interface NumberRule {
  integer?: boolean;
  min?: number;
  max?: number;
}

function checkNumber(raw: string, rule: NumberRule): Parsed<number> {
  const words = [
    rule.integer ? 'an integer' : 'a number',
    rule.min !== undefined ? `≥ ${rule.min}` : '',
    rule.max !== undefined ? `≤ ${rule.max}` : '',
  ];
  const text = words.filter(Boolean).join(' ');
  const x = raw.trim() === '' ? Number.NaN : Number(raw);
  if (!Number.isFinite(x)) return { ok: false, rule: text };
  if (rule.integer && !Number.isInteger(x)) return { ok: false, rule: text };
  if (rule.min !== undefined && x < rule.min) return { ok: false, rule: text };
  if (rule.max !== undefined && x > rule.max) return { ok: false, rule: text };
  return { ok: true, value: x };
}

const FLAG_VALUES: Record<string, boolean> = {
  '1': true,
  true: true,
  yes: true,
  on: true,
  '0': false,
  false: false,
  no: false,
  off: false,
};

/** The option types. `default` undefined means "not set": the benchmark decides (and says so in shown). */
export const option = {
  number<D extends number | undefined>(
    def: D,
    description: string,
    rule: NumberRule & { shown?: string } = {},
  ): OptionSpec<number | D> {
    return {
      type: 'number',
      default: def,
      shownDefault: rule.shown,
      description,
      parse: (raw) => checkNumber(raw, rule),
    };
  },

  /** Comma-separated numbers, e.g. `20,80,200`. */
  numbers(
    def: readonly number[],
    description: string,
    rule: NumberRule = {},
  ): OptionSpec<number[]> {
    return {
      type: 'numbers',
      default: [...def],
      description,
      parse(raw) {
        const out: number[] = [];
        for (const part of raw.split(',')) {
          if (part.trim() === '') continue;
          const x = checkNumber(part, rule);
          if (!x.ok) return { ok: false, rule: `comma-separated, each ${x.rule}` };
          out.push(x.value);
        }
        if (out.length === 0) return { ok: false, rule: 'at least one comma-separated number' };
        return { ok: true, value: out };
      },
    };
  },

  /** Comma-separated words, each one of `oneOf` when given. */
  words<W extends string>(
    def: readonly W[],
    description: string,
    oneOf?: readonly W[],
  ): OptionSpec<W[]> {
    return {
      type: 'words',
      default: [...def],
      description,
      parse(raw) {
        const out = raw
          .split(',')
          .map((w) => w.trim())
          .filter((w) => w !== '');
        const rule = oneOf
          ? `comma-separated, each one of ${oneOf.join(', ')}`
          : 'at least one comma-separated word';
        if (out.length === 0) return { ok: false, rule };
        if (oneOf && !out.every((w) => (oneOf as readonly string[]).includes(w)))
          return { ok: false, rule };
        return { ok: true, value: out as W[] };
      },
    };
  },

  text<D extends string | undefined>(
    def: D,
    description: string,
    extra: { oneOf?: readonly string[]; pattern?: RegExp; rule?: string; shown?: string } = {},
  ): OptionSpec<string | D> {
    return {
      type: 'text',
      default: def,
      shownDefault: extra.shown,
      description,
      parse(raw) {
        if (extra.oneOf && !extra.oneOf.includes(raw))
          return { ok: false, rule: `one of ${extra.oneOf.join(', ')}` };
        if (extra.pattern && !extra.pattern.test(raw))
          return { ok: false, rule: extra.rule ?? `text matching ${String(extra.pattern)}` };
        return { ok: true, value: raw };
      },
    };
  },

  /** 1/0, true/false, yes/no, on/off. */
  flag(def: boolean, description: string): OptionSpec<boolean> {
    return {
      type: 'flag',
      default: def,
      description,
      parse(raw) {
        const v = FLAG_VALUES[raw.trim().toLowerCase()];
        return v === undefined
          ? { ok: false, rule: '1 or 0 (true/false, yes/no, on/off)' }
          : { ok: true, value: v };
      },
    };
  },

  /** A JSON value that `schema` accepts. */
  json<T>(schema: z.ZodType<T>, def: T, description: string, rule: string): OptionSpec<T> {
    return {
      type: 'JSON',
      default: def,
      description,
      parse(raw) {
        let value: unknown;
        try {
          value = JSON.parse(raw);
        } catch {
          return { ok: false, rule };
        }
        const r = schema.safeParse(value);
        return r.success ? { ok: true, value: r.data } : { ok: false, rule };
      },
    };
  },
};

/** A bad value: one line naming the variable, the rule and the value. */
export class OptionError extends Error {
  constructor(
    readonly variable: string,
    readonly rule: string,
    readonly value: string,
  ) {
    super(`${variable} must be ${rule}; got ${JSON.stringify(value)}`);
    this.name = 'OptionError';
  }
}

function shown(spec: OptionSpec<unknown>): string {
  if (spec.shownDefault !== undefined) return spec.shownDefault;
  const d = spec.default;
  if (d === undefined) return '(unset)';
  if (Array.isArray(d)) return d.join(',');
  if (typeof d === 'object') return JSON.stringify(d);
  if (typeof d === 'boolean') return d ? '1' : '0';
  return String(d);
}

/** Every flag and variable with its type, default and description. */
export function helpText<V extends Variables, F extends string>(spec: BenchSpec<V, F>): string {
  const flags: [string, string][] = [
    ...(Object.entries(spec.flags ?? {}) as [string, string][]),
    ['help', 'print this list and exit'],
  ];
  const vars = Object.entries(spec.variables) as [string, OptionSpec<unknown>][];
  const flagNames = flags.map(([f]) => `--${f}`);
  const width = Math.max(...flagNames.map((f) => f.length), ...vars.map(([n]) => n.length));
  const usage = [
    `${spec.name}: ${spec.summary}`,
    '',
    `usage: npm run bench -- ${spec.name}${Object.keys(spec.flags ?? {})
      .map((f) => ` [--${f}]`)
      .join('')}`,
    '',
    'flags:',
    ...flags.map(([f, d]) => `  ${`--${f}`.padEnd(width)}  ${d}`),
    '',
    'environment variables:',
    ...(vars.length === 0 ? ['  (none)'] : []),
    ...vars.map(
      ([n, v]) =>
        `  ${n.padEnd(width)}  ${v.type}, default ${shown(v)}\n  ${''.padEnd(width)}  ${v.description}`,
    ),
  ];
  return `${usage.join('\n')}\n`;
}

export interface ParsedOptions<V extends Variables, F extends string = never> {
  values: Values<V>;
  flags: Record<F, boolean>;
  help: boolean;
  /** BENCH_* variables in the environment that this benchmark does not read (typos, mostly). */
  unknown: string[];
}

/** Pure: the values from `env` and `args` (the arguments after the benchmark's name). */
export function parseOptions<V extends Variables, F extends string = never>(
  spec: BenchSpec<V, F>,
  env: Record<string, string | undefined>,
  args: readonly string[],
): ParsedOptions<V, F> {
  const values: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(spec.variables) as [string, OptionSpec<unknown>][]) {
    const raw = env[name];
    // Unset and empty are the same: `NAME= npm run bench ...` means the default.
    if (raw === undefined || raw === '') {
      values[name] = v.default;
      continue;
    }
    const r = v.parse(raw);
    if (!r.ok) throw new OptionError(name, r.rule, raw);
    values[name] = r.value;
  }
  const flags: Record<string, boolean> = {};
  for (const f of Object.keys(spec.flags ?? {})) flags[f] = false;
  let help = false;
  for (const a of args) {
    if (a === '--help' || a === '-h') help = true;
    else if (a.startsWith('--') && a.slice(2) in flags) flags[a.slice(2)] = true;
    else
      throw new OptionError(
        'argument',
        `one of ${[...Object.keys(flags), 'help'].map((f) => `--${f}`).join(', ')}`,
        a,
      );
  }
  const unknown = Object.keys(env).filter((k) => k.startsWith('BENCH_') && !(k in spec.variables));
  return { values: values as Values<V>, flags: flags as Record<F, boolean>, help, unknown };
}

/**
 * One variable of a shared fragment, read where a shared module needs it (after the
 * benchmark's benchOptions has checked the same variable, so a bad value has exited already).
 */
export function readOption<T>(
  name: `BENCH_${string}`,
  spec: OptionSpec<T>,
  env: Record<string, string | undefined> = process.env,
): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return spec.default;
  const r = spec.parse(raw);
  if (!r.ok) throw new OptionError(name, r.rule, raw);
  return r.value;
}

/**
 * The process-level entry: `--help` prints the list and exits 0, a bad value prints one line
 * and exits 2, both before the benchmark does anything. Call it first in a benchmark.
 * The arguments are process.argv after the script (bench/run.ts removes the benchmark's name).
 */
export function benchOptions<V extends Variables, F extends string = never>(
  spec: BenchSpec<V, F>,
): { values: Values<V>; flags: Record<F, boolean> } {
  const args = process.argv.slice(2);
  // Help first: it must work whatever the environment holds.
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(helpText(spec));
    process.exit(0);
  }
  let parsed: ParsedOptions<V, F>;
  try {
    parsed = parseOptions(spec, process.env, args);
  } catch (err) {
    if (!(err instanceof OptionError)) throw err;
    process.stderr.write(`${spec.name}: ${err.message} (--help lists the options)\n`);
    process.exit(2);
  }
  for (const name of parsed.unknown)
    process.stderr.write(`${spec.name}: warning: ${name} is not an option of this benchmark\n`);
  return { values: parsed.values, flags: parsed.flags };
}
