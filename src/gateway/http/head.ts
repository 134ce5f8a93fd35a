import type { RoamError } from '../../errors.js';
import { type HeaderField, isFieldValue, isToken, serializeFields } from './headers.js';

export type HttpVersion = '1.0' | '1.1';

export interface RequestHead {
  readonly method: string;
  readonly target: string;
  readonly version: HttpVersion;
  readonly headers: readonly HeaderField[];
  /** The head exactly as received, up to and including the blank line. */
  readonly raw: Buffer;
}

export interface ResponseHead {
  readonly version: HttpVersion;
  readonly status: number;
  readonly reason: string;
  readonly headers: readonly HeaderField[];
  readonly raw: Buffer;
}

export interface HeadLimits {
  /** Bytes of a head (start line, fields, blank line), and of a trailer section. */
  readonly maxHeadBytes: number;
  /** Field lines in a head or a trailer section. */
  readonly maxHeaders: number;
}

type Fail = (message: string) => RoamError;

const LF = 0x0a;
const CR = 0x0d;

/**
 * Index just past the blank line that ends a field section starting at `from`, or -1.
 * A line ends in CRLF or a bare LF (RFC 9112 2.2 lets recipients accept either).
 * `from` must be the start of a line; a section that is only a blank line ends at once.
 * `scanned` is how far an earlier call got (the buffer's length then), so a head that
 * arrives a byte at a time is still scanned in linear time.
 */
export function findSectionEnd(buf: Buffer, from: number, scanned = from): number {
  if (buf[from] === LF) return from + 1;
  if (buf[from] === CR && buf[from + 1] === LF) return from + 2;
  let i = buf.indexOf(LF, Math.max(from, scanned - 2));
  while (i !== -1) {
    const j = i + 1;
    if (buf[j] === LF) return j + 1;
    if (buf[j] === CR && buf[j + 1] === LF) return j + 2;
    i = buf.indexOf(LF, j);
  }
  return -1;
}

/** Split a complete section into lines without their line ends; a bare CR is an error. */
export function splitLines(raw: Buffer, fail: Fail): string[] {
  const text = raw.toString('latin1');
  const lines = text.split('\n');
  lines.pop(); // after the final LF
  lines.pop(); // the blank line
  return lines.map((line) => {
    const body = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (body.includes('\r')) throw fail('bare CR in a header line');
    return body;
  });
}

export function parseFieldLines(lines: readonly string[], limits: HeadLimits, fail: Fail) {
  if (lines.length > limits.maxHeaders) {
    throw fail(`more than ${limits.maxHeaders} header fields (${lines.length})`);
  }
  const fields: HeaderField[] = [];
  for (const line of lines) {
    if (line.startsWith(' ') || line.startsWith('\t')) {
      throw fail('obsolete line folding in a header field');
    }
    const colon = line.indexOf(':');
    const name = colon === -1 ? '' : line.slice(0, colon);
    if (!isToken(name)) throw fail(`invalid header field name in ${JSON.stringify(clip(line))}`);
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (!isFieldValue(value)) throw fail(`invalid characters in the value of ${name}`);
    fields.push({ name, value });
  }
  return fields;
}

function parseVersion(s: string): HttpVersion | undefined {
  if (s === 'HTTP/1.1') return '1.1';
  if (s === 'HTTP/1.0') return '1.0';
  return undefined;
}

export function parseRequestHead(raw: Buffer, limits: HeadLimits, fail: Fail): RequestHead {
  const [start = '', ...rest] = splitLines(raw, fail);
  const parts = start.split(' ');
  const [method = '', target = '', versionText = ''] = parts;
  const version = parseVersion(versionText);
  if (parts.length !== 3 || !isToken(method) || version === undefined) {
    throw fail(`invalid request line ${JSON.stringify(clip(start))}`);
  }
  if (!/^[\x21-\x7e]+$/.test(target)) throw fail('invalid request target');
  return { method, target, version, headers: parseFieldLines(rest, limits, fail), raw };
}

export function parseResponseHead(raw: Buffer, limits: HeadLimits, fail: Fail): ResponseHead {
  const [start = '', ...rest] = splitLines(raw, fail);
  const m = /^(HTTP\/1\.[01]) ([0-9]{3})(?: (.*))?$/.exec(start);
  const version = parseVersion(m?.[1] ?? '');
  if (m === null || version === undefined) {
    throw fail(`invalid status line ${JSON.stringify(clip(start))}`);
  }
  const reason = m[3] ?? '';
  if (!isFieldValue(reason)) throw fail('invalid characters in the reason phrase');
  const status = Number(m[2]);
  return { version, status, reason, headers: parseFieldLines(rest, limits, fail), raw };
}

export function serializeRequestHead(
  head: Pick<RequestHead, 'method' | 'target' | 'version'>,
  headers: readonly HeaderField[],
): Buffer {
  const text = `${head.method} ${head.target} HTTP/${head.version}\r\n${serializeFields(headers)}\r\n`;
  return Buffer.from(text, 'latin1');
}

function clip(s: string): string {
  return s.length > 80 ? `${s.slice(0, 80)}...` : s;
}
