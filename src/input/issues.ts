import type { z } from 'zod';

/**
 * Turns zod's issues into one line a user can act on: the field's path, the rule, and what
 * was given, e.g. `links[0].rtae: unknown field; did you mean "rate"?` or
 * `links[0].a.ip: is required`. Used by every file roam reads (topology, schedule, gateway
 * config), so the same mistake reads the same everywhere.
 */

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    out += typeof key === 'number' ? `[${key}]` : `${out ? '.' : ''}${String(key)}`;
  }
  return out || '(top level)';
}

/** Edit distance, for "did you mean"; inputs are field names, a few characters long. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const here = row[j] as number;
      const cost = a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1;
      row[j] = Math.min(here + 1, (row[j - 1] as number) + 1, prev + cost);
      prev = here;
    }
  }
  return row[b.length] as number;
}

/** The closest of `known` to `given`, when it is close enough to be a misspelling. */
export function nearest(given: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const d = distance(given, k);
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return bestD <= Math.max(2, Math.floor(given.length / 3)) ? best : undefined;
}

type Def = {
  type?: string;
  shape?: Record<string, { _zod: { def: Def } }>;
  element?: { _zod: { def: Def } };
  innerType?: { _zod: { def: Def } };
  in?: { _zod: { def: Def } };
  valueType?: { _zod: { def: Def } };
  options?: { _zod: { def: Def } }[];
};

/** The object field names the schema allows at `path` (for "did you mean"). */
function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  const unwrap = (d: Def): Def => {
    for (;;) {
      const inner = d.innerType ?? d.in;
      if (!inner) return d;
      d = inner._zod.def;
    }
  };
  let def = unwrap((schema as unknown as { _zod: { def: Def } })._zod.def);
  for (const key of path) {
    if (def.type === 'object' && typeof key === 'string' && def.shape?.[key])
      def = unwrap(def.shape[key]._zod.def);
    else if (def.type === 'array' && typeof key === 'number' && def.element)
      def = unwrap(def.element._zod.def);
    else if (def.type === 'record' && def.valueType) def = unwrap(def.valueType._zod.def);
    else return [];
  }
  return def.type === 'object' ? Object.keys(def.shape ?? {}) : [];
}

function given(input: unknown): string {
  if (input === undefined) return 'nothing';
  const text = JSON.stringify(input);
  if (text === undefined) return String(input);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  boolean: 'true or false',
  object: 'a mapping (key: value)',
  array: 'a list',
  record: 'a mapping (key: value)',
};

/** One issue as `path: rule, got X` (or `path.key: unknown field ...`). */
function issueLine(schema: z.ZodType, issue: z.core.$ZodIssue): string[] {
  const input = (issue as { input?: unknown }).input;
  const at = formatPath(issue.path);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeys(schema, issue.path);
      return issue.keys.map((key) => {
        const near = nearest(key, known);
        const hint = near
          ? `did you mean "${near}"?`
          : known.length
            ? `valid fields: ${known.join(', ')}`
            : 'remove it';
        return `${formatPath([...issue.path, key])}: unknown field; ${hint}`;
      });
    }
    case 'invalid_type': {
      if (input === undefined) return [`${at}: is required`];
      const want = TYPE_WORDS[issue.expected] ?? issue.expected;
      return [`${at}: must be ${want}, got ${given(input)}`];
    }
    case 'invalid_union':
      if (input === undefined) return [`${at}: is required`];
      return [`${at}: must be a number or a string, got ${given(input)}`];
    case 'invalid_value': {
      if (input === undefined) return [`${at}: is required`];
      const values = issue.values.map((v) => String(v));
      const near = typeof input === 'string' ? nearest(input, values) : undefined;
      return [
        `${at}: must be one of ${values.join(', ')}, got ${given(input)}${near ? `; did you mean "${near}"?` : ''}`,
      ];
    }
    case 'too_small':
    case 'too_big': {
      const op =
        issue.code === 'too_small' ? (issue.inclusive ? '>=' : '>') : issue.inclusive ? '<=' : '<';
      const what =
        issue.origin === 'array'
          ? 'have a number of entries'
          : issue.origin === 'string'
            ? 'have a length'
            : 'be';
      const got =
        issue.origin === 'array' && Array.isArray(input) ? `${input.length} entries` : given(input);
      return [
        `${at}: must ${what} ${op} ${String(issue.code === 'too_small' ? issue.minimum : issue.maximum)}, got ${got}`,
      ];
    }
    case 'invalid_format':
      return [`${at}: ${issue.message.replace(/^Invalid string: /, 'must ')}, got ${given(input)}`];
    default: {
      // Our own rules (refine, superRefine, unit parsers) already say what was given when
      // they carry the value; otherwise add it.
      const primitive = input === null || (typeof input !== 'object' && input !== undefined);
      const shown = !primitive || issue.message.includes(given(input));
      return [`${at}: ${issue.message}${shown ? '' : `, got ${given(input)}`}`];
    }
  }
}

/** Validates `input` against `schema`; on failure, one line: `source: issue; issue`. */
export function parseOneLine<S extends z.ZodType>(
  schema: S,
  input: unknown,
  source: string,
): { ok: true; data: z.output<S> } | { ok: false; message: string } {
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) return { ok: true, data: result.data };
  const lines = result.error.issues.flatMap((i) => issueLine(schema, i));
  return { ok: false, message: `${source}: ${lines.join('; ')}` };
}

/** A YAML parse error in one line: file, line and column, and what is wrong there. */
export function yamlErrorLine(file: string, err: unknown): string {
  const e = err as { message?: string; linePos?: { line: number; col: number }[] };
  const first = (e.message ?? String(err))
    .split('\n')[0]
    ?.replace(/ at line \d+, column \d+:?$/, '');
  const pos = e.linePos?.[0];
  return `${file}${pos ? `:${pos.line}:${pos.col}` : ''}: not valid YAML/JSON: ${first}`;
}
