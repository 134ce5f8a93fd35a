import { type IncomingHttpHeaders, request } from 'node:http';
import type { TestContext } from 'node:test';
import { ManualClock } from '../../src/names/clock.js';
import { type NamesServer, startNamesServer } from '../../src/names/http/server.js';
import type { NamesServerConfig } from '../../src/names/http/options.js';
import { generateKeyPair, type KeyPair } from '../../src/names/keys.js';
import type { NameRecord, UnsignedRecord } from '../../src/names/record.js';
import { NameService, type NameServiceOptions } from '../../src/names/service.js';
import { makeDelegation, signRecord } from '../../src/names/sign.js';
import { MemoryStore } from '../../src/names/store/memory-store.js';
import type { NameStore } from '../../src/names/store/store.js';

export const HOUR = 3600_000;

/** Unsigned fields of a plausible record; `over` replaces any of them. */
export function fields(
  name: string,
  key: KeyPair,
  now: number,
  over: Partial<UnsignedRecord> = {},
): UnsignedRecord {
  const kind = name.includes('@')
    ? name.split('@')[0]?.includes('.')
      ? 'device'
      : 'user'
    : 'service';
  return {
    name,
    kind,
    key: key.publicKey,
    addresses: [{ ip: '192.0.2.7', port: 4000, iface: 'wifi', priority: 10 }],
    relays: [],
    attributes: {},
    version: 1,
    expiresAt: now + HOUR,
    ...over,
  };
}

export function userRecord(
  name: string,
  key: KeyPair,
  now: number,
  over: Partial<UnsignedRecord> = {},
): NameRecord {
  return signRecord(fields(name, key, now, over), key);
}

/** A device record certified by `user` (issued at `now` unless `issued` says otherwise). */
export function deviceRecord(
  name: string,
  device: KeyPair,
  user: KeyPair,
  now: number,
  over: Partial<UnsignedRecord> = {},
  issued = now,
): NameRecord {
  return signRecord(
    {
      ...fields(name, device, now, over),
      delegation: makeDelegation(user, name, device.publicKey, issued),
    },
    device,
  );
}

export interface Rig {
  clock: ManualClock;
  store: NameStore;
  service: NameService;
  url: string;
  server: NamesServer;
  bob: KeyPair;
  laptop: KeyPair;
}

/** A name server on 127.0.0.1 (port 0) with a manual clock; closed when the test ends. */
export async function startRig(
  t: TestContext,
  opts: {
    server?: Partial<NamesServerConfig>;
    service?: NameServiceOptions;
    store?: NameStore;
  } = {},
): Promise<Rig> {
  const clock = new ManualClock();
  const store = opts.store ?? new MemoryStore();
  const service = new NameService(store, { clock, ...opts.service });
  const server = await startNamesServer(service, { port: 0, clock, ...opts.server });
  t.after(async () => {
    await server.close();
    await store.close();
  });
  return {
    clock,
    store,
    service,
    url: server.url,
    server,
    bob: generateKeyPair(),
    laptop: generateKeyPair(),
  };
}

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/** One request on its own connection (agent: false), so no socket outlives the test. */
export function call(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<HttpAnswer> {
  const payload =
    body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const length: Record<string, string> =
      payload === undefined ? {} : { 'content-length': String(Buffer.byteLength(payload)) };
    const req = request(
      `${url}${path}`,
      { method, agent: false, headers: { ...length, ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Waits until `check` is true, re-checking each time `poke` is called (no timers). */
export class Waiter {
  private waiters: { check: () => boolean; resolve: () => void }[] = [];

  poke(): void {
    this.waiters = this.waiters.filter((w) => (w.check() ? (w.resolve(), false) : true));
  }

  until(check: () => boolean): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ check, resolve }));
  }
}
