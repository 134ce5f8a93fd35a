import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { createHash, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { labSkipReason, simpleTopology, withLab } from '../lab/lab-support.js';
import { closeTun, openTun } from '../../src/tun/device.js';
import { createDataPath, type DataPathEvent, SLOT_CURRENT } from '../../src/tunnel/datapath.js';
import { openData, sealData } from '../../src/tunnel/data-seal.js';
import { generateKeyPair, mac1Key } from '../../src/tunnel/keys.js';
import { initiate } from '../../src/tunnel/noise.js';

/**
 * The native data path against the TypeScript reference: a tun inside a lab namespace, the
 * data path's socket on loopback, and this test as the far end with sealData/openData. An
 * ICMP echo sealed here is opened in C, answered by the kernel, sealed in C, opened here.
 */
const skip = labSkipReason();

function checksum(b: Buffer): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += (b[i] ?? 0) * 256 + (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

function echoRequest(payload: Buffer, seq: number): Buffer {
  const icmp = Buffer.concat([Buffer.from([8, 0, 0, 0, 0x12, 0x34, seq >> 8, seq & 255]), payload]);
  icmp.writeUInt16BE(checksum(icmp), 2);
  const ip = Buffer.from('4500000000004000400100000a6300020a630001', 'hex');
  ip.writeUInt16BE(20 + icmp.length, 2);
  ip.writeUInt16BE(checksum(ip), 10);
  return Buffer.concat([ip, icmp]);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('native tunnel data path', { skip, timeout: 60_000 }, () => {
  test('interoperates with the TypeScript codec; replays, flips, junk and fuzz are counted, never delivered', async () => {
    await withLab(simpleTopology(), async (lab) => {
      const tun = openTun({ name: 'rt0', mode: 'tun', netns: lab.ns('client') });
      const events: DataPathEvent[] = [];
      const local = generateKeyPair();
      const dp = createDataPath(tun.fd, mac1Key(local.publicKey), (ev) => events.push(ev));
      const sock: Socket = createSocket('udp4');
      try {
        await lab.exec('client', ['ip', 'addr', 'add', '10.99.0.1/24', 'dev', 'rt0']);
        await lab.exec('client', ['ip', 'link', 'set', 'rt0', 'up']);
        const port = dp.openSocket(0, '127.0.0.1', 0);
        const sendKey = randomBytes(32); // what this test seals with = what C opens with
        const recvKey = randomBytes(32);
        dp.setPeer(0, null);
        dp.setMode(0, 0, -1, 0, []);
        dp.setKeypair(0, SLOT_CURRENT, 1111, 2222, recvKey, sendKey);
        const replies: Buffer[] = [];
        let wake: (() => void) | undefined;
        sock.on('message', (m) => {
          replies.push(m);
          wake?.();
        });
        await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
        const send = (b: Buffer) =>
          new Promise<void>((r, j) => sock.send(b, port, '127.0.0.1', (e) => (e ? j(e) : r())));
        const next = async (): Promise<Buffer> => {
          while (replies.length === 0) await new Promise<void>((r) => (wake = r));
          return replies.shift() as Buffer;
        };
        const payload = randomBytes(200);
        const d = sealData({
          key: sendKey,
          receiver: 1111,
          counter: 0n,
          path: 3,
          inner: { kind: 0, flags: 0, probeId: 0, sequence: 0n },
          packet: echoRequest(payload, 1),
        });
        await send(d);
        const reply = openData(recvKey, await next());
        assert.ok(reply.ok, 'the reply opens with the TypeScript codec');
        assert.equal(reply.path, 3, 'answered on the path the request came on');
        assert.equal(reply.receiver, 2222);
        assert.equal(reply.packet[20], 0, 'an ICMP echo reply');
        assert.equal(sha(reply.packet.subarray(28)), sha(payload));
        assert.equal(dp.pathStats(0, 3)?.endpointPort, (sock.address() as { port: number }).port);

        // The same datagram again; then one byte flipped; then junk of every type.
        await send(d);
        const flipped = Buffer.from(d);
        flipped[40] = (flipped[40] ?? 0) ^ 4;
        await send(flipped);
        await send(Buffer.from([9, 9, 9, 9, 9]));
        await send(Buffer.alloc(132, 0).fill(1, 0, 1));
        const hs = initiate({
          local: generateKeyPair(),
          remotePublic: local.publicKey,
          senderIndex: 5,
          nowMs: 1,
        });
        await send(hs.message);
        let probeSeen = false;
        // A probe request on a keepalive is answered by a probe reply with the same id.
        await send(
          sealData({
            key: sendKey,
            receiver: 1111,
            counter: 1n,
            path: 1,
            inner: { kind: 2, flags: 1, probeId: 77, sequence: 0n },
            packet: Buffer.alloc(0),
          }),
        );
        const pr = openData(recvKey, await next());
        assert.ok(pr.ok && pr.inner.kind === 3 && pr.inner.probeId === 77 && pr.path === 1);
        probeSeen = true;
        const until = async (cond: () => boolean) => {
          while (!cond()) await new Promise((r) => setTimeout(r, 10));
        };
        await until(() => events.some((e) => e.type === 'handshake'));
        const c = dp.counters();
        assert.deepEqual(
          {
            replayed: c.replayed,
            authFailed: c.authFailed,
            malformed: c.malformed,
            mac1Failed: c.mac1Failed,
            handshakes: c.handshakes,
            tunTx: c.tunTx,
          },
          { replayed: 1, authFailed: 1, malformed: 1, mac1Failed: 1, handshakes: 1, tunTx: 1 },
        );
        assert.ok(probeSeen);
        assert.equal(
          sha(events.find((e) => e.type === 'handshake')?.bytes ?? Buffer.alloc(0)),
          sha(hs.message),
        );

        // Fuzz: random datagrams, and mutations of a valid one, never reach the tun.
        const samples = fc.sample(
          fc.oneof(
            fc.uint8Array({ maxLength: 1600 }),
            fc.uint8Array({ minLength: 44, maxLength: 300 }).map((a) => ((a[0] = 4), a)),
          ),
          500,
        );
        for (const s of samples) await send(Buffer.from(s));
        for (let i = 0; i < 300; i++) {
          const m = Buffer.from(d);
          m[i % m.length] = ((m[i % m.length] ?? 0) + 1 + (i % 255)) & 255;
          await send(m.subarray(0, m.length - (i % 3)));
        }
        await until(() => dp.counters().udpRx >= 7 + 500 + 300);
        const f = dp.counters();
        assert.equal(f.tunTx, 1, 'nothing forged reached the tun');
        const counted =
          f.replayed + f.authFailed + f.malformed + f.mac1Failed + f.unknownIndex + f.handshakes;
        assert.equal(
          counted + 2,
          f.udpRx,
          'every datagram but the two good ones is counted as refused',
        );
        console.log(
          `# fuzz: ${f.udpRx} datagrams: ${JSON.stringify({ malformed: f.malformed, unknownIndex: f.unknownIndex, authFailed: f.authFailed, replayed: f.replayed, mac1Failed: f.mac1Failed })}`,
        );
      } finally {
        sock.close();
        dp.close();
        closeTun(tun);
      }
    });
  });
});
