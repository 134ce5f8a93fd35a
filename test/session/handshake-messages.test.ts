// The handshake's messages as pure functions (issue 10, item 3): both ends' halves meet,
// and every tampering is refused with its wire code.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  acceptJoinHello,
  acceptNewHello,
  joinHello,
  newHello,
  verifyJoinWelcome,
  verifyNewWelcome,
} from '../../src/session/handshake-messages.js';
import { ReplayWindow } from '../../src/session/replay-window.js';
import { newKeyShare, nonce } from '../../src/session/secret.js';
import { ErrorCode } from '../../src/wire/index.js';

function established() {
  const client = { clientHalf: Buffer.alloc(8, 1), share: newKeyShare(), nonce: nonce() };
  const hello = newHello({ ...client, recvWindow: 65536, controlAddr: null, multipath: false });
  const server = acceptNewHello(hello, {
    share: newKeyShare(),
    nonce: nonce(),
    serverHalf: Buffer.alloc(8, 2),
    recvWindow: 1 << 20,
  });
  assert.ok(server.ok);
  const verified = verifyNewWelcome(server.welcome, client);
  assert.ok(verified.ok);
  return { client, server, verified };
}

test('a new session: both ends derive the same secret and id; WELCOME carries the window', () => {
  const { server, verified } = established();
  assert.ok(server.ok && verified.ok);
  assert.deepEqual(verified.secret, server.secret);
  assert.equal(server.connId.toString('hex'), '0101010101010101' + '0202020202020202');
  assert.equal(server.welcome.recvWindow, 1 << 20);
  assert.equal(server.welcome.received, 0);
});

test('a HELLO new that claims received data, or an unusable key share, is refused PROTOCOL', () => {
  const hello = newHello({
    clientHalf: Buffer.alloc(8),
    share: newKeyShare(),
    nonce: nonce(),
    recvWindow: 1,
    controlAddr: null,
    multipath: false,
  });
  const server = {
    share: newKeyShare(),
    nonce: nonce(),
    serverHalf: Buffer.alloc(8),
    recvWindow: 1,
  };
  const resumed = acceptNewHello({ ...hello, received: 5 }, server);
  assert.deepEqual(resumed.ok ? 'ok' : [resumed.code, resumed.reason], [
    ErrorCode.PROTOCOL,
    'a new session starts at received 0',
  ]);
  const zero = acceptNewHello({ ...hello, keyShare: Buffer.alloc(32) }, server);
  assert.deepEqual(zero.ok ? 'ok' : [zero.code, zero.reason], [
    ErrorCode.PROTOCOL,
    'bad key share',
  ]);
});

test('a WELCOME for another session or with a forged proof is refused by the client', () => {
  const { client, server } = established();
  assert.ok(server.ok);
  const other = verifyNewWelcome(server.welcome, { ...client, clientHalf: Buffer.alloc(8, 9) });
  assert.equal(other.ok ? 'ok' : other.code, ErrorCode.PROTOCOL);
  const forged = verifyNewWelcome({ ...server.welcome, proof: Buffer.alloc(32, 7) }, client);
  assert.equal(forged.ok ? 'ok' : forged.code, ErrorCode.BAD_PROOF);
});

test('attach: a proven, fresh HELLO is welcomed with the resume point; a replay or a bad proof is refused', () => {
  const { server, verified } = established();
  assert.ok(server.ok && verified.ok);
  const counters = new ReplayWindow();
  const join = {
    mode: 'attach' as const,
    connId: verified.connId,
    secret: verified.secret,
    pathId: 1,
    counter: 1,
    received: 300,
    nonce: nonce(),
    recvWindow: 4096,
    controlAddr: null,
  };
  const hello = joinHello(join);
  const session = { secret: server.secret, received: 1200, recvWindow: 8192, counters };
  const accepted = acceptJoinHello(hello, session, nonce());
  assert.ok(accepted.ok);
  assert.equal(accepted.welcome.received, 1200);
  assert.ok(verifyJoinWelcome(accepted.welcome, join).ok);
  const replay = acceptJoinHello(hello, session, nonce());
  assert.equal(replay.ok ? 'ok' : replay.code, ErrorCode.REPLAY);
  const bad = acceptJoinHello(
    { ...joinHello({ ...join, counter: 2 }), received: 301 },
    session,
    nonce(),
  );
  assert.equal(bad.ok ? 'ok' : bad.code, ErrorCode.BAD_PROOF);
  // A WELCOME that does not prove the secret (an impostor server) is refused.
  const impostor = verifyJoinWelcome({ ...accepted.welcome, proof: Buffer.alloc(32) }, join);
  assert.equal(impostor.ok ? 'ok' : impostor.code, ErrorCode.BAD_PROOF);
});
