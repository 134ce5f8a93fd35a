/** A client that writes raw bytes and parses what comes back (pipelining, hostile input). */
import { once } from 'node:events';
import { connect } from 'node:net';
import { type ResponseEvent, ResponseParser } from '../../src/gateway/http/response-parser.js';

export interface RawResult {
  /** Bodies of the responses that completed, in order. */
  bodies: Buffer[];
  /** Status codes of every response head seen. */
  statuses: number[];
  /** Everything received, as is. */
  raw: Buffer;
}

/**
 * Send `text`, read until the gateway closes, parse responses to `methods`. `onBytes`
 * gets the running total of body bytes after each chunk.
 */
export async function rawExchange(
  port: number,
  text: string | Buffer,
  methods: string[],
  onBytes: (total: number) => void = () => {},
): Promise<RawResult> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  await once(socket, 'connect');
  socket.write(text);
  const parser = new ResponseParser({ maxHeadBytes: 1 << 20, maxHeaders: 1000 });
  for (const m of methods) parser.expect(m);
  const result: RawResult = { bodies: [], statuses: [], raw: Buffer.alloc(0) };
  const raw: Buffer[] = [];
  let current: Buffer[] = [];
  let total = 0;
  const take = (ev: ResponseEvent): void => {
    if (ev.type === 'head') result.statuses.push(ev.head.status);
    if (ev.type === 'body') {
      current.push(Buffer.from(ev.data));
      total += ev.data.length;
    }
    if (ev.type === 'end') {
      result.bodies.push(Buffer.concat(current));
      current = [];
    }
  };
  socket.on('data', (chunk: Buffer) => {
    raw.push(chunk);
    for (const ev of parser.events(chunk)) take(ev);
    onBytes(total);
  });
  socket.on('end', () => {
    parser.finish(); // a close-delimited body ends here
    for (let ev = parser.next(); ev !== undefined; ev = parser.next()) take(ev);
  });
  await once(socket, 'close');
  result.raw = Buffer.concat(raw);
  return result;
}
