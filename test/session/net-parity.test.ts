// What a program ported from node:net can tell apart: each case runs the same steps on
// net and on roam in the same test and compares what the application sees.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as net from 'node:net';
import { test } from 'node:test';
import { connect, createServer } from '../../src/session/index.js';
import type { Duplex } from 'node:stream';

interface Pair {
  /** The server side's events, in order, once it closed. */
  serverEvents: Promise<string[]>;
  client: Duplex;
  close: () => Promise<void>;
}

function record(s: Duplex): Promise<string[]> {
  const events: string[] = [];
  s.on('data', () => undefined);
  s.on('end', () => events.push('end'));
  s.on('error', (err: NodeJS.ErrnoException) => events.push(`error:${err.code ?? 'none'}`));
  return new Promise((resolve) => s.once('close', () => resolve(events)));
}

async function netPair(onServer: (s: Duplex) => void): Promise<Pair> {
  let resolveEvents: (e: Promise<string[]>) => void = () => undefined;
  const events = new Promise<Promise<string[]>>((r) => (resolveEvents = r));
  const server = net.createServer((s) => {
    resolveEvents(record(s));
    onServer(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const client = net.connect({ host: '127.0.0.1', port });
  await once(client, 'connect');
  return {
    serverEvents: events.then((e) => e),
    client,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

async function roamPair(onServer: (s: Duplex) => void, allowHalfOpen?: boolean): Promise<Pair> {
  let resolveEvents: (e: Promise<string[]>) => void = () => undefined;
  const events = new Promise<Promise<string[]>>((r) => (resolveEvents = r));
  const server = createServer({ allowHalfOpen }, (s) => {
    resolveEvents(record(s));
    onServer(s);
  });
  const { port } = await server.listen({ host: '127.0.0.1' });
  const client = connect({ host: '127.0.0.1', port, allowHalfOpen });
  await once(client, 'connect');
  return {
    serverEvents: events.then((e) => e),
    client,
    close: () => server.close(),
  };
}

async function echoThenDestroy(make: typeof netPair): Promise<string[]> {
  const pair = await make((s) => s.pipe(s));
  pair.client.write('hello');
  await once(pair.client, 'data');
  pair.client.destroy();
  const events = await pair.serverEvents;
  await pair.close();
  return events;
}

test("the docs' echo server: a client's destroy() after an exchange ends the server side as with net, no 'error'", async () => {
  const onNet = await echoThenDestroy(netPair);
  const onRoam = await echoThenDestroy(roamPair);
  assert.deepEqual(onNet, ['end']);
  assert.deepEqual(onRoam, onNet);
});

async function endThenClose(
  make: (onServer: (s: Duplex) => void) => Promise<Pair>,
): Promise<string[]> {
  const seen: string[] = [];
  const pair = await make((s) => s.end('bye'));
  pair.client.resume();
  await once(pair.client, 'end');
  seen.push('end');
  // With net, 'close' comes in a later tick than 'end': awaiting both in turn works.
  await once(pair.client, 'close');
  seen.push('close');
  await pair.close();
  return seen;
}

test("'close' comes after 'end' in a later tick: await once(s, 'end') then once(s, 'close') works as on net", async () => {
  assert.deepEqual(await endThenClose(netPair), ['end', 'close']);
  // net's default allowHalfOpen (false): the client's side ends when the server's does.
  assert.deepEqual(await endThenClose((on) => roamPair(on, false)), ['end', 'close']);
  // roam's default keeps the client's side open (half-close): ending it closes the session.
  const halfOpen = await endThenClose(async (on) => {
    const pair = await roamPair(on);
    pair.client.once('end', () => pair.client.end());
    return pair;
  });
  assert.deepEqual(halfOpen, ['end', 'close']);
});

async function destroyWithUnread(make: typeof netPair): Promise<string[]> {
  // The client stops reading while the server sends more than it reads ahead, then
  // destroys its end: TCP answers the bytes left unread with a reset, which the server sees
  // as an error on its socket.
  const pair = await make((s) => {
    s.on('error', () => undefined);
    s.write(Buffer.alloc(8 * 1024 * 1024, 1));
  });
  pair.client.pause();
  await waitFor(() => pair.client.readableLength >= pair.client.readableHighWaterMark);
  pair.client.destroy();
  const events = await pair.serverEvents;
  await pair.close();
  return events;
}

async function waitFor(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setImmediate(r));
}

test('destroy() with bytes left unread is a reset at the peer, as with net', async () => {
  const onNet = await destroyWithUnread(netPair);
  assert.equal(onNet.length, 1);
  assert.match(onNet[0] ?? '', /^error:(ECONNRESET|EPIPE)$/);
  // roam's code for it is ROAM_SESSION_RESET (docs/session.md).
  assert.deepEqual(await destroyWithUnread(roamPair), ['error:ROAM_SESSION_RESET']);
});
