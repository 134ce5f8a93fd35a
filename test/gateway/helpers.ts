/** Shared by the HTTP engine tests (loopback only): clients, a manual clock, leak checks. */
import { createHash } from 'node:crypto';
import { type Agent, type IncomingHttpHeaders, request } from 'node:http';
import assert from 'node:assert/strict';
import type { Gateway } from './rig.js';

export * from './origin.js';
export * from './rig.js';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

export { ManualClock } from '../../src/clock/manual-clock.js';

export interface Download {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The response arrived whole (length or last chunk); false when it was cut off. */
  complete: boolean;
  error: Error | undefined;
}

export interface DownloadOptions {
  method?: string;
  headers?: Record<string, string>;
  agent?: Agent | false;
  body?: Buffer;
  /** Called after each chunk with the running total of body bytes. */
  onBytes?: (total: number) => void;
}

/** A node:http client request that never throws: it reports what it received. */
export function download(url: string, opts: DownloadOptions = {}): Promise<Download> {
  return new Promise((resolve) => {
    const req = request(url, {
      method: opts.method ?? 'GET',
      headers: opts.headers,
      agent: opts.agent ?? false,
    });
    let settled = false;
    const finish = (d: Download): void => {
      if (!settled) resolve(d);
      settled = true;
    };
    req.on('error', (error) =>
      finish({ status: 0, headers: {}, body: Buffer.alloc(0), complete: false, error }),
    );
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      let total = 0;
      let error: Error | undefined;
      res.on('data', (c: Buffer) => {
        parts.push(c);
        total += c.length;
        opts.onBytes?.(total);
      });
      res.on('error', (e) => (error = e));
      res.on('close', () =>
        finish({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(parts),
          complete: res.complete,
          error,
        }),
      );
    });
    req.end(opts.body);
  });
}

/**
 * Sockets, servers and timers still open. libuv releases a closed handle a loop turn or
 * two after its close callback, so this yields a few turns (never a timed wait) before
 * reporting what is left; none may outlive a test file.
 */
export async function openHandles(): Promise<string[]> {
  const ours = (): string[] =>
    process
      .getActiveResourcesInfo()
      .filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap' || r === 'Timeout');
  for (let turn = 0; turn < 20 && ours().length > 0; turn++) {
    await new Promise((resolve) => setImmediate(resolve));
  }
  return ours();
}

/** An onBytes hook: at exactly `at` body bytes, uplink `id` goes down and is declared failed. */
export function failAt(gw: Gateway, at: number, id: string): (total: number) => void {
  let done = false;
  return (total) => {
    if (done || total !== at) return;
    done = true;
    gw.down.add(id);
    assert.equal(gw.engine.uplinkFailed(id), 1);
  };
}

export function assertSame(got: Buffer, want: Buffer): void {
  assert.equal(got.length, want.length);
  assert.equal(sha256(got), sha256(want));
}
