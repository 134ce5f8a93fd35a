/** One header field as received: the name keeps its case, the value has its OWS trimmed. */
export interface HeaderField {
  readonly name: string;
  readonly value: string;
}

export type HeaderList = readonly HeaderField[];

// tchar per RFC 9110 5.6.2, as a lookup table over bytes.
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (TCHAR[s.charCodeAt(i)] !== 1) return false;
  return true;
}

/** Field values may hold HTAB, SP, VCHAR and obs-text; never NUL, CR, LF or other controls. */
export function isFieldValue(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return false;
  }
  return true;
}

/** Every value of `name` (case-insensitive), in order. */
export function headerValues(headers: HeaderList, name: string): string[] {
  const lower = name.toLowerCase();
  const out: string[] = [];
  for (const h of headers) if (h.name.toLowerCase() === lower) out.push(h.value);
  return out;
}

/** The field's combined value (list fields joined with ", "), or undefined when absent. */
export function headerValue(headers: HeaderList, name: string): string | undefined {
  const values = headerValues(headers, name);
  return values.length === 0 ? undefined : values.join(', ');
}

/** The comma-separated elements of a list field, lower-cased and trimmed, empties dropped. */
export function headerTokens(headers: HeaderList, name: string): string[] {
  const out: string[] = [];
  for (const v of headerValues(headers, name)) {
    for (const part of v.split(',')) {
      const t = part.trim().toLowerCase();
      if (t !== '') out.push(t);
    }
  }
  return out;
}

export function withoutHeaders(headers: HeaderList, names: readonly string[]): HeaderField[] {
  const drop = new Set(names.map((n) => n.toLowerCase()));
  return headers.filter((h) => !drop.has(h.name.toLowerCase()));
}

export function serializeFields(headers: HeaderList): string {
  let out = '';
  for (const h of headers) out += `${h.name}: ${h.value}\r\n`;
  return out;
}
