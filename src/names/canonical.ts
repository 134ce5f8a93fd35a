import { namesError } from './codes.js';

/**
 * The canonical encoding that signatures cover: JSON with object keys sorted by UTF-16 code
 * unit (the order of Array.prototype.sort), no whitespace, integers only, no undefined.
 * Two values that are deepEqual encode to the same string whatever the key order they were
 * built with; a verifier re-encodes the parsed record, so extra whitespace or reordered keys
 * on the wire do not matter, while any changed, added or removed field changes the bytes.
 *
 * Pure: no I/O, no clock. JSON.stringify does string escaping (well-formed since ES2019:
 * lone surrogates become \uXXXX), so the encoding of a string is fixed by the spec.
 */
export type Canonical =
  | null
  | boolean
  | number
  | string
  | readonly Canonical[]
  | { readonly [key: string]: Canonical | undefined };

export function canonicalJson(value: Canonical): string {
  return encode(value, 0);
}

const MAX_DEPTH = 16;

function encode(value: Canonical | undefined, depth: number): string {
  if (depth > MAX_DEPTH) throw namesError('ROAM_NAMES_INVALID', 'value nests too deeply');
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isSafeInteger(value))
        throw namesError('ROAM_NAMES_INVALID', `${value} is not a safe integer`);
      return Object.is(value, -0) ? '0' : String(value);
    case 'string':
      return JSON.stringify(value);
    case 'undefined':
      throw namesError('ROAM_NAMES_INVALID', 'undefined has no canonical encoding');
    case 'object':
      if (Array.isArray(value))
        return `[${(value as readonly Canonical[]).map((v) => encode(v, depth + 1)).join(',')}]`;
      return encodeObject(value as { readonly [key: string]: Canonical | undefined }, depth);
    default:
      throw namesError('ROAM_NAMES_INVALID', `a ${typeof value} has no canonical encoding`);
  }
}

function encodeObject(obj: { readonly [key: string]: Canonical | undefined }, depth: number) {
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${encode(obj[k], depth + 1)}`).join(',')}}`;
}
