import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { type Addr, decodeAddr, encodeAddr } from '../../src/wire/address.js';
import { bytes, hex } from './arbitraries.js';

/** WHATWG URL's IPv6 serializer: an independent RFC 5952 implementation. */
const urlCanonical = (host: string) => new URL(`http://[${host}]/`).hostname.slice(1, -1);
const v6 = (raw: Buffer, port = 1) =>
  Buffer.concat([Buffer.from([6]), raw, Buffer.from([port >> 8, port & 0xff])]);

test('none, IPv4 and IPv6 from hex', () => {
  assert.deepEqual(encodeAddr(null), Buffer.alloc(19));
  assert.equal(decodeAddr(Buffer.alloc(19)), null);
  const cases: [Addr, Buffer][] = [
    [{ host: '203.0.113.9', port: 65535 }, hex(`04 cb007109 ${'00'.repeat(12)} ffff`)],
    [{ host: 'fe80::1', port: 1 }, hex('06 fe800000000000000000000000000001 0001')],
    [{ host: '::ffff:192.0.2.1', port: 80 }, hex('06 00000000000000000000ffffc0000201 0050')],
  ];
  for (const [addr, field] of cases) {
    assert.deepEqual(encodeAddr(addr), field);
    assert.deepEqual(decodeAddr(field), addr);
  }
});

test('IPv6 decodes to RFC 5952 text', () => {
  const cases: [string, string][] = [
    ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['0:0:0:0:0:ffff:c000:201', '::ffff:192.0.2.1'],
    ['::1.2.3.4', '::102:304'],
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
  ];
  for (const [input, output] of cases) {
    assert.equal(decodeAddr(encodeAddr({ host: input, port: 9 }))?.host, output, input);
  }
});

test('any 16 IPv6 bytes decode to canonical text that encodes back to the same bytes', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        bytes(16),
        // Many zero groups, to exercise "::" placement.
        fc
          .array(fc.constantFrom(0, 0, 0, 1, 0xffff), { minLength: 8, maxLength: 8 })
          .map((groups) => {
            const raw = Buffer.alloc(16);
            groups.forEach((g, i) => raw.writeUInt16BE(g, 2 * i));
            return raw;
          }),
      ),
      (raw) => {
        const addr = decodeAddr(v6(raw));
        assert.ok(addr !== null);
        assert.deepEqual(encodeAddr(addr), v6(raw));
        if (!addr.host.includes('.')) assert.equal(addr.host, urlCanonical(addr.host));
      },
    ),
    { numRuns: 1000 },
  );
});

test('IPv6 text in any form encodes to the bytes an independent parser finds', () => {
  fc.assert(
    fc.property(fc.ipV6(), (host) => {
      const addr = decodeAddr(encodeAddr({ host, port: 443 }));
      assert.ok(addr !== null);
      assert.equal(urlCanonical(addr.host), urlCanonical(host));
    }),
    { numRuns: 1000 },
  );
});

test('IPv4 round-trips', () => {
  fc.assert(
    fc.property(fc.ipV4(), fc.integer({ min: 1, max: 65535 }), (host, port) => {
      assert.deepEqual(decodeAddr(encodeAddr({ host, port })), { host, port });
    }),
  );
});

test('names, zones, bad ports and non-addresses are refused on encode', () => {
  const bad: unknown[] = [
    { host: 'localhost', port: 80 },
    { host: 'example.com', port: 80 },
    { host: 'fe80::1%eth0', port: 80 },
    { host: '[::1]', port: 80 },
    { host: '1.2.3.4', port: 0 },
    { host: '1.2.3.4', port: 65536 },
    { host: '1.2.3.4', port: 1.5 },
    { host: 4, port: 80 },
  ];
  for (const addr of bad) {
    assert.throws(() => encodeAddr(addr as Addr), { code: 'ROAM_BAD_INPUT' }, JSON.stringify(addr));
  }
});

test('a field of the wrong length is malformed', () => {
  assert.throws(() => decodeAddr(Buffer.alloc(18)), { code: 'ROAM_WIRE_MALFORMED' });
});
