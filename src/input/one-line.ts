import type { z } from 'zod';
import { nearest } from './issues.js';

/**
 * One line for the first problem of a failed parse: the field, the rule it broke and what
 * was given, e.g. `connectTimeoutMs must be an integer 10..3600000 (ms), got string "1000"`,
 * or `unknown option connectTimeoutMS (did you mean connectTimeoutMs?)`.
 */
export function oneLine(
  error: z.ZodError,
  given: unknown,
  schema?: z.ZodType,
  noun = 'option',
): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid input';
  const field = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const valid = schema ? keysAt(schema, issue.path) : [];
    const key = issue.keys[0] ?? '';
    const hint = nearest(key, valid);
    const where = field ? ` in ${field}` : '';
    return `unknown ${noun} ${key}${where}${hint ? ` (did you mean ${hint}?)` : ''}`;
  }
  const value = valueAt(given, issue.path);
  const subject = field || 'the value';
  if (value === undefined && issue.code === 'invalid_type') return `${subject} is required`;
  const rule = issue.message.startsWith('must ')
    ? issue.message
    : `must be valid: ${issue.message}`;
  return `${subject} ${rule}, got ${describe(value)}`;
}

interface Walkable {
  shape?: Record<string, unknown>;
  unwrap?: () => unknown;
  in?: unknown;
}

/** The keys an object schema takes at a path (through optional, default and pipe wrappers). */
export function keysAt(schema: z.ZodType, path: PropertyKey[]): string[] {
  let at = bare(schema);
  for (const key of path) at = bare(at?.shape?.[String(key)]);
  return at?.shape ? Object.keys(at.shape) : [];
}

function bare(schema: unknown): Walkable | undefined {
  let s = schema as Walkable | undefined;
  for (let i = 0; i < 8 && s && !s.shape; i++) {
    if (typeof s.unwrap === 'function') s = s.unwrap() as Walkable;
    else if (s.in) s = s.in as Walkable;
    else break;
  }
  return s;
}

function valueAt(given: unknown, path: PropertyKey[]): unknown {
  let at = given;
  for (const key of path) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<PropertyKey, unknown>)[key];
  }
  return at;
}

/** What was given, with its type where the type is the mistake (`string "1000"`). */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return `string ${JSON.stringify(value.slice(0, 80))}`;
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}
