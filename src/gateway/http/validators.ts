/**
 * Parsers for the fields a resume depends on: entity tags, HTTP dates, Range and
 * Content-Range (RFC 9110 8.8, 14). All return undefined for anything they do not
 * understand; the caller then refuses to resume rather than guess.
 */

export interface EntityTag {
  readonly weak: boolean;
  /** The opaque tag with its quotes, as compared byte for byte. */
  readonly opaque: string;
}

export function parseEntityTag(value: string | undefined): EntityTag | undefined {
  if (value === undefined) return undefined;
  const m = /^(W\/)?("[\x21\x23-\x7e\x80-\xff]*")$/.exec(value.trim());
  if (m === null || m[2] === undefined) return undefined;
  return { weak: m[1] !== undefined, opaque: m[2] };
}

/** Strong comparison: both strong and identical (RFC 9110 8.8.3.2). */
export function strongMatch(a: EntityTag | undefined, b: EntityTag | undefined): boolean {
  return a !== undefined && b !== undefined && !a.weak && !b.weak && a.opaque === b.opaque;
}

/** An HTTP-date in ms since the epoch (IMF-fixdate, and what Date.parse also accepts). */
export function parseHttpDate(value: string | undefined): number | undefined {
  if (value === undefined || !/^[\x20-\x7e]{1,64}$/.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

const NUM = /^[0-9]{1,16}$/;

function num(s: string | undefined): number | undefined {
  if (s === undefined || !NUM.test(s)) return undefined;
  const n = Number(s);
  return n <= Number.MAX_SAFE_INTEGER ? n : undefined;
}

export type RangeSpec =
  | { readonly kind: 'from'; readonly first: number; readonly last: number | undefined }
  | { readonly kind: 'suffix'; readonly length: number };

/** `Range: bytes=...` as a list of specs; undefined when it is not a valid bytes range. */
export function parseRange(value: string | undefined): RangeSpec[] | undefined {
  if (value === undefined) return undefined;
  const m = /^\s*bytes\s*=\s*(.+)$/i.exec(value);
  if (m === null || m[1] === undefined) return undefined;
  const specs: RangeSpec[] = [];
  for (const part of m[1].split(',')) {
    const p = part.trim();
    if (p === '') continue;
    const r = /^([0-9]*)-([0-9]*)$/.exec(p);
    if (r === null) return undefined;
    const first = r[1] === '' ? undefined : num(r[1]);
    const last = r[2] === '' ? undefined : num(r[2]);
    if (r[1] === '') {
      if (last === undefined) return undefined;
      specs.push({ kind: 'suffix', length: last });
    } else {
      if (first === undefined || (r[2] !== '' && last === undefined)) return undefined;
      if (last !== undefined && last < first) return undefined;
      specs.push({ kind: 'from', first, last });
    }
  }
  return specs.length === 0 ? undefined : specs;
}

export interface ContentRange {
  readonly first: number;
  readonly last: number;
  /** Complete length, undefined for `*`. */
  readonly total: number | undefined;
}

/** `Content-Range: bytes first-last/total` (or `/*`). */
export function parseContentRange(value: string | undefined): ContentRange | undefined {
  if (value === undefined) return undefined;
  const m = /^\s*bytes\s+([0-9]+)-([0-9]+)\/([0-9]+|\*)\s*$/i.exec(value);
  if (m === null) return undefined;
  const first = num(m[1]);
  const last = num(m[2]);
  const total = m[3] === '*' ? undefined : num(m[3]);
  if (first === undefined || last === undefined || last < first) return undefined;
  if (m[3] !== '*' && (total === undefined || last >= total)) return undefined;
  return { first, last, total };
}

/** `Content-Range: bytes * /total` of a 416: the complete length. */
export function parseUnsatisfiedRange(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^\s*bytes\s+\*\/([0-9]+)\s*$/i.exec(value);
  return m === null ? undefined : num(m[1]);
}
