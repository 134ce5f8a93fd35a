import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { isRoamError } from '../../src/errors.js';
import { openData, sealData } from '../../src/tunnel/data-seal.js';
import { generateKeyPair, keyPairFromPrivate, parseKey, formatKey } from '../../src/tunnel/keys.js';
import { acceptInitiation, initiate } from '../../src/tunnel/noise.js';
import { ReplayWindow, WINDOW_BITS } from '../../src/tunnel/replay-window.js';
import {
  DATA_MIN_LEN,
  decodeDataHeader,
  decodeInitiation,
  decodeInnerHeader,
  decodeResponse,
  encodeDataHeader,
  INITIATION_LEN,
  isMalformed,
  RESPONSE_LEN,
} from '../../src/tunnel/wire.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const fixedKey = (byte: number) => keyPairFromPrivate(Buffer.alloc(32, byte));

function handshake() {
  const client = fixedKey(1);
  const server = fixedKey(2);
  const hs = initiate({
    local: client,
    remotePublic: server.publicKey,
    senderIndex: 7,
    nowMs: 1e12,
  });
  const accepted = acceptInitiation(server, hs.message);
  const { message, keys: serverKeys } = accepted.respond(9);
  const clientKeys = hs.consumeResponse(message);
  return { client, server, hs, accepted, response: message, clientKeys, serverKeys };
}

describe('tunnel keys', () => {
  test('a private key determines its public key; base64 round trip; bad text is refused', () => {
    const k = generateKeyPair();
    assert.deepEqual(keyPairFromPrivate(k.privateKey).publicKey, k.publicKey);
    assert.deepEqual(parseKey(formatKey(k.publicKey), 'key'), k.publicKey);
    for (const bad of ['', 'abc', `${formatKey(k.publicKey)}x`, '!'.repeat(44)]) {
      assert.throws(
        () => parseKey(bad, 'key'),
        (e) => isRoamError(e, 'ROAM_TUNNEL_KEY'),
      );
    }
  });
});

describe('tunnel handshake (Noise IK)', () => {
  test("both ends derive mirrored keys and learn each other's index and static key", () => {
    const { client, accepted, clientKeys, serverKeys } = handshake();
    assert.deepEqual(accepted.initiatorPublic, client.publicKey);
    assert.deepEqual(clientKeys.sendKey, serverKeys.receiveKey);
    assert.deepEqual(clientKeys.receiveKey, serverKeys.sendKey);
    assert.notDeepEqual(clientKeys.sendKey, clientKeys.receiveKey);
    assert.equal(clientKeys.localIndex, 7);
    assert.equal(clientKeys.remoteIndex, 9);
    assert.equal(serverKeys.remoteIndex, 7);
  });

  test('fresh ephemeral keys give fresh session keys', () => {
    assert.notDeepEqual(handshake().clientKeys.sendKey, handshake().clientKeys.sendKey);
  });

  test('an initiation for another responder, or with any byte flipped, is refused', () => {
    const { hs, server } = handshake();
    assert.throws(
      () => acceptInitiation(fixedKey(3), hs.message),
      (e) => isRoamError(e, 'ROAM_TUNNEL_HANDSHAKE'),
    );
    for (let i = 4; i < INITIATION_LEN; i++) {
      const m = Buffer.from(hs.message);
      m[i] = (m[i] ?? 0) ^ 0x40;
      assert.throws(
        () => acceptInitiation(server, m),
        (e) => isRoamError(e, 'ROAM_TUNNEL_HANDSHAKE'),
        `byte ${i}`,
      );
    }
  });

  test('a response with a flipped byte is refused, and the good one then completes', () => {
    const client = fixedKey(1);
    const server = fixedKey(2);
    const hs = initiate({
      local: client,
      remotePublic: server.publicKey,
      senderIndex: 7,
      nowMs: 1,
    });
    const { message } = acceptInitiation(server, hs.message).respond(9);
    for (let i = 4; i < RESPONSE_LEN; i++) {
      const m = Buffer.from(message);
      m[i] = (m[i] ?? 0) ^ 1;
      assert.throws(
        () => hs.consumeResponse(m),
        (e) => isRoamError(e, 'ROAM_TUNNEL_HANDSHAKE'),
        `byte ${i}`,
      );
    }
    assert.equal(hs.consumeResponse(message).remoteIndex, 9);
  });

  test('a peer who does not know the static private key cannot answer', () => {
    const client = fixedKey(1);
    const server = fixedKey(2);
    const hs = initiate({
      local: client,
      remotePublic: server.publicKey,
      senderIndex: 7,
      nowMs: 1,
    });
    // An impostor with another key cannot even read the initiation.
    assert.throws(() => acceptInitiation(fixedKey(4), hs.message));
  });
});

describe('tunnel data packets', () => {
  test('seal then open gives the packet back; every flipped byte fails authentication', () => {
    const { clientKeys, serverKeys } = handshake();
    const packet = Buffer.from('4500001c000000004001f96cc0a80001c0a80002', 'hex');
    const d = sealData({
      key: clientKeys.sendKey,
      receiver: clientKeys.remoteIndex,
      counter: 5n,
      path: 1,
      inner: { kind: 0, flags: 0, probeId: 0, sequence: 3n },
      packet,
    });
    assert.equal(d.length, DATA_MIN_LEN + packet.length);
    const o = openData(serverKeys.receiveKey, d);
    assert.ok(o.ok);
    assert.equal(sha(o.packet), sha(packet));
    assert.equal(o.path, 1);
    assert.equal(o.counter, 5n);
    assert.equal(o.inner.sequence, 3n);
    for (let i = 0; i < d.length; i++) {
      const m = Buffer.from(d);
      m[i] = (m[i] ?? 0) ^ 0x80;
      const r = openData(serverKeys.receiveKey, m);
      assert.equal(r.ok, false, `byte ${i}`);
    }
  });

  test('the header from hex', () => {
    const h = Buffer.from('04020000' + '78563412' + '0100000000000000', 'hex');
    const d = decodeDataHeader(Buffer.concat([h, Buffer.alloc(28)]));
    assert.deepEqual(d, { path: 2, receiver: 0x12345678, counter: 1n });
    assert.deepEqual(encodeDataHeader({ path: 2, receiver: 0x12345678, counter: 1n }), h);
  });
});

describe('tunnel replay window', () => {
  test('accepts each counter once, out of order within the window, refuses older ones', () => {
    const w = new ReplayWindow();
    assert.ok(w.accept(0n));
    assert.ok(!w.accept(0n));
    assert.ok(w.accept(10n));
    assert.ok(w.accept(5n));
    assert.ok(!w.accept(5n));
    assert.ok(w.accept(20000n));
    assert.ok(!w.accept(20000n - BigInt(WINDOW_BITS) - 1n));
    assert.ok(w.accept(20000n - BigInt(WINDOW_BITS) + 1n));
    assert.ok(!w.accept(10n));
    assert.ok(!w.accept(-1n));
  });

  test('property: agrees with a model that remembers everything, within the window', () => {
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: 0n, max: 40000n }), { maxLength: 400 }), (counters) => {
        const w = new ReplayWindow();
        const seen = new Set<bigint>();
        let highest = -1n;
        for (const c of counters) {
          const fresh =
            !seen.has(c) && (highest < 0n || c > highest || highest - c <= BigInt(WINDOW_BITS));
          // A counter older than the window may have been seen or not: the model just refuses.
          assert.equal(w.accept(c), fresh, `counter ${c} after highest ${highest}`);
          if (fresh) {
            seen.add(c);
            if (c > highest) highest = c;
          }
        }
      }),
    );
  });
});

describe('tunnel codec fuzzing: no crash, no false accept', () => {
  test('random datagrams: decoders return a value or a reason, openData never authenticates', () => {
    const { serverKeys, server } = handshake();
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 1600 }),
        fc.constantFrom(1, 2, 4, 0, 255),
        (bytes, type) => {
          const b = Buffer.from(bytes);
          if (b.length > 0) b[0] = type;
          for (const decode of [
            decodeInitiation,
            decodeResponse,
            decodeDataHeader,
            decodeInnerHeader,
          ]) {
            const r = decode(b);
            assert.equal(typeof r, 'object');
          }
          assert.equal(openData(serverKeys.receiveKey, b).ok, false);
          assert.throws(
            () => acceptInitiation(server, b),
            (e) => isRoamError(e, 'ROAM_TUNNEL_HANDSHAKE'),
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  test('mutations of a valid datagram (truncate, extend, flip) never authenticate', () => {
    const { clientKeys, serverKeys } = handshake();
    const d = sealData({
      key: clientKeys.sendKey,
      receiver: clientKeys.remoteIndex,
      counter: 1n,
      path: 0,
      inner: { kind: 0, flags: 0, probeId: 0, sequence: 1n },
      packet: Buffer.alloc(100, 0x45),
    });
    fc.assert(
      fc.property(
        fc.nat({ max: d.length }),
        fc.uint8Array({ maxLength: 20 }),
        fc.nat({ max: d.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        (cut, extra, at, x) => {
          const truncated = d.subarray(0, cut);
          if (cut < d.length) assert.equal(openData(serverKeys.receiveKey, truncated).ok, false);
          if (extra.length)
            assert.equal(openData(serverKeys.receiveKey, Buffer.concat([d, extra])).ok, false);
          const f = Buffer.from(d);
          f[at] = (f[at] ?? 0) ^ x;
          const r = openData(serverKeys.receiveKey, f);
          assert.equal(r.ok, false);
          const m = decodeDataHeader(f);
          assert.ok(isMalformed(m) || typeof m.counter === 'bigint');
        },
      ),
      { numRuns: 300 },
    );
  });
});
