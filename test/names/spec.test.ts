import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isRoamError } from '../../src/errors.js';
import { parseAddressSpec, parseAttributes, parseHostPort } from '../../src/names/spec.js';

test('command-line forms: addresses, endpoints, attributes', () => {
  assert.deepEqual(parseAddressSpec('192.0.2.7:4000'), {
    ip: '192.0.2.7',
    port: 4000,
    iface: 'other',
    priority: 0,
  });
  assert.deepEqual(parseAddressSpec('[2001:db8::1]:9,cellular,20'), {
    ip: '2001:db8::1',
    port: 9,
    iface: 'cellular',
    priority: 20,
  });
  assert.deepEqual(parseHostPort('relay.example.com:443'), {
    host: 'relay.example.com',
    port: 443,
  });
  assert.deepEqual(parseAttributes(['os=linux', 'note=a=b']), { os: 'linux', note: 'a=b' });
  for (const bad of [
    '192.0.2.7',
    '192.0.2.7:0',
    'host.example:80',
    '1.2.3.4:80,satellite',
    '1.2.3.4:80,wifi,x',
    '[1.2.3.4]:80',
    '::1:80',
  ])
    assert.throws(
      () => parseAddressSpec(bad),
      (e) => isRoamError(e, 'ROAM_NAMES_INVALID'),
      bad,
    );
  assert.throws(
    () => parseAttributes(['=x']),
    (e) => isRoamError(e, 'ROAM_NAMES_INVALID'),
  );
});
