import type { RoamError } from '../../errors.js';
import type { BodyFraming } from './body-decoder.js';
import type { RequestHead, ResponseHead } from './head.js';
import { type HeaderList, headerTokens, headerValues } from './headers.js';

type Fail = (message: string) => RoamError;

/** Content-Length as a number; repeated equal values are accepted, differing ones are not. */
export function contentLength(headers: HeaderList, fail: Fail): number | undefined {
  const values = headerValues(headers, 'content-length').flatMap((v) => v.split(','));
  if (values.length === 0) return undefined;
  let length: number | undefined;
  for (const raw of values) {
    const v = raw.trim();
    if (!/^[0-9]{1,16}$/.test(v) || Number(v) > Number.MAX_SAFE_INTEGER) {
      throw fail(`invalid Content-Length ${JSON.stringify(v.slice(0, 40))}`);
    }
    if (length !== undefined && length !== Number(v))
      throw fail('conflicting Content-Length values');
    length = Number(v);
  }
  return length;
}

/** Transfer codings in order, lower-cased; chunked only as the last one. */
function transferCodings(headers: HeaderList, fail: Fail): string[] {
  const codings = headerTokens(headers, 'transfer-encoding').map((c) => c.split(';')[0]?.trim());
  const out = codings.filter((c): c is string => c !== undefined && c !== '');
  const chunked = out.indexOf('chunked');
  if (chunked !== -1 && chunked !== out.length - 1) {
    throw fail('Transfer-Encoding applies chunked before another coding');
  }
  return out;
}

/** How a response to `method` is framed, or 'upgrade' when the connection becomes a tunnel. */
export function responseFraming(
  method: string,
  head: ResponseHead,
  fail: Fail,
): BodyFraming | 'upgrade' {
  const { status } = head;
  if (status === 101 || (method === 'CONNECT' && status >= 200 && status < 300)) return 'upgrade';
  if (method === 'HEAD' || status === 204 || status === 304 || status < 200) {
    return { kind: 'none' };
  }
  const codings = transferCodings(head.headers, fail);
  const length = contentLength(head.headers, fail);
  if (codings.length > 0) {
    if (length !== undefined) throw fail('both Transfer-Encoding and Content-Length');
    return codings.at(-1) === 'chunked' ? { kind: 'chunked' } : { kind: 'close' };
  }
  if (length !== undefined) return { kind: 'length', length };
  return { kind: 'close' };
}

export function requestFraming(head: RequestHead, fail: Fail): BodyFraming {
  const codings = transferCodings(head.headers, fail);
  const length = contentLength(head.headers, fail);
  if (codings.length > 0) {
    if (length !== undefined) throw fail('both Transfer-Encoding and Content-Length');
    if (head.version === '1.0') throw fail('Transfer-Encoding in an HTTP/1.0 request');
    if (codings.at(-1) !== 'chunked') throw fail('request body not chunked last');
    return { kind: 'chunked' };
  }
  return length === undefined || length === 0 ? { kind: 'none' } : { kind: 'length', length };
}
