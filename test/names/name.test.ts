import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isRoamError } from '../../src/errors.js';
import { ownerOf, parseName } from '../../src/names/name.js';

test('names: users, their devices and services, bare service names', () => {
  assert.deepEqual(parseName('bob@example.com'), { form: 'user', name: 'bob@example.com' });
  assert.deepEqual(parseName('laptop.bob@example.com'), {
    form: 'child',
    name: 'laptop.bob@example.com',
    label: 'laptop',
    user: 'bob@example.com',
  });
  assert.deepEqual(parseName('printer'), { form: 'bare', name: 'printer' });
  assert.deepEqual(parseName('printer.office.example'), {
    form: 'bare',
    name: 'printer.office.example',
  });
  assert.equal(ownerOf(parseName('phone-2.bob_x+y@ucla.edu')), 'bob_x+y@ucla.edu');
  assert.equal(ownerOf(parseName('bob@localhost')), 'bob@localhost');
});

test('names: invalid ones are refused with the reason', () => {
  const cases: [string, RegExp][] = [
    ['', /empty/],
    ['Bob@example.com', /lowercase: use "bob@example.com"/],
    ['a.b.bob@example.com', /user part "b.bob"/],
    ['bob@@example.com', /more than one "@"/],
    ['bob@', /nothing after "@"/],
    ['bob@exa_mple.com', /"exa_mple" is not a DNS label/],
    ['-x.bob@example.com', /device label "-x"/],
    ['bob@example..com', /"" is not a DNS label/],
    ['x'.repeat(254), /longer than 253/],
    ['bob @example.com', /user part/],
    ['bøb@example.com', /user part/],
  ];
  for (const [name, why] of cases)
    assert.throws(
      () => parseName(name),
      (e) => isRoamError(e, 'ROAM_NAMES_BAD_NAME') && why.test(e.message),
      name,
    );
});
