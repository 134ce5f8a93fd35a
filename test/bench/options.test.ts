// Typed BENCH_* options: values, defaults, one-line errors, and the --help text.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import {
  type BenchSpec,
  helpText,
  OptionError,
  option,
  parseOptions,
  readOption,
  type Variables,
} from '../../bench/lib/options.js';

const spec = {
  name: 'demo',
  summary: 'a demonstration',
  flags: { quick: 'fewer rounds' },
  variables: {
    BENCH_REPEAT: option.number(5, 'trials', { integer: true, min: 1 }),
    BENCH_LATER: option.number(undefined, 'set by the bench', { shown: '3 (1 with --quick)' }),
    BENCH_RTTS: option.numbers([20, 80], 'RTTs, ms', { min: 0 }),
    BENCH_FAULTS: option.words(['stall', 'down'], 'faults', ['stall', 'down']),
    BENCH_ARP: option.text('announce', 'arp', { oneOf: ['announce', 'none'] }),
    BENCH_ON: option.flag(true, 'a flag'),
    BENCH_SESSION: option.json(z.record(z.string(), z.number()), {}, 'options', 'a JSON object'),
  },
} satisfies BenchSpec<Variables>;

const bad = (env: Record<string, string>, args: string[] = []) => {
  try {
    parseOptions(spec, env, args);
  } catch (err) {
    assert.ok(err instanceof OptionError);
    return err.message;
  }
  assert.fail('no error');
};

test('defaults when unset or empty', () => {
  const { values, flags, help } = parseOptions(spec, { BENCH_REPEAT: '' }, []);
  assert.deepEqual(values, {
    BENCH_REPEAT: 5,
    BENCH_LATER: undefined,
    BENCH_RTTS: [20, 80],
    BENCH_FAULTS: ['stall', 'down'],
    BENCH_ARP: 'announce',
    BENCH_ON: true,
    BENCH_SESSION: {},
  });
  assert.deepEqual(flags, { quick: false });
  assert.equal(help, false);
});

test('typed values from the environment, flags and --help from the arguments', () => {
  const { values, flags, help } = parseOptions(
    spec,
    {
      BENCH_REPEAT: '7',
      BENCH_LATER: '2.5',
      BENCH_RTTS: '10, 200,',
      BENCH_FAULTS: 'down',
      BENCH_ARP: 'none',
      BENCH_ON: '0',
      BENCH_SESSION: '{"deadAfterMs":300}',
    },
    ['--quick', '--help'],
  );
  assert.deepEqual(values, {
    BENCH_REPEAT: 7,
    BENCH_LATER: 2.5,
    BENCH_RTTS: [10, 200],
    BENCH_FAULTS: ['down'],
    BENCH_ARP: 'none',
    BENCH_ON: false,
    BENCH_SESSION: { deadAfterMs: 300 },
  });
  assert.deepEqual(flags, { quick: true });
  assert.equal(help, true);
});

test('a bad value is one line naming the variable, the rule and the value', () => {
  assert.equal(bad({ BENCH_REPEAT: 'five' }), 'BENCH_REPEAT must be an integer ≥ 1; got "five"');
  assert.equal(bad({ BENCH_REPEAT: '0' }), 'BENCH_REPEAT must be an integer ≥ 1; got "0"');
  assert.equal(bad({ BENCH_REPEAT: '1.5' }), 'BENCH_REPEAT must be an integer ≥ 1; got "1.5"');
  assert.equal(
    bad({ BENCH_RTTS: '20,x' }),
    'BENCH_RTTS must be comma-separated, each a number ≥ 0; got "20,x"',
  );
  assert.equal(
    bad({ BENCH_FAULTS: 'stall,cut' }),
    'BENCH_FAULTS must be comma-separated, each one of stall, down; got "stall,cut"',
  );
  assert.equal(bad({ BENCH_ARP: 'yes' }), 'BENCH_ARP must be one of announce, none; got "yes"');
  assert.match(bad({ BENCH_ON: 'maybe' }), /^BENCH_ON must be 1 or 0 .*; got "maybe"$/);
  assert.equal(
    bad({ BENCH_SESSION: '{"a":"b"}' }),
    'BENCH_SESSION must be a JSON object; got "{\\"a\\":\\"b\\"}"',
  );
  assert.equal(bad({ BENCH_SESSION: '{' }), 'BENCH_SESSION must be a JSON object; got "{"');
  assert.equal(bad({}, ['--fast']), 'argument must be one of --quick, --help; got "--fast"');
  for (const m of [bad({ BENCH_REPEAT: 'x' }), bad({ BENCH_SESSION: '[' })])
    assert.ok(!m.includes('\n'));
});

test('BENCH_* variables the benchmark does not read are reported (typos)', () => {
  const r = parseOptions(spec, { BENCH_REPAET: '3', HOME: '/root' }, []);
  assert.deepEqual(r.unknown, ['BENCH_REPAET']);
});

test('help lists every flag and variable with its type, default and description', () => {
  const text = helpText(spec);
  assert.match(text, /^demo: a demonstration\n/);
  assert.match(text, /usage: npm run bench -- demo \[--quick\]/);
  assert.match(text, /--quick +fewer rounds/);
  assert.match(text, /--help +print this list and exit/);
  assert.match(text, /BENCH_REPEAT +number, default 5\n +trials/);
  assert.match(text, /BENCH_LATER +number, default 3 \(1 with --quick\)\n +set by the bench/);
  assert.match(text, /BENCH_RTTS +numbers, default 20,80\n/);
  assert.match(text, /BENCH_FAULTS +words, default stall,down\n/);
  assert.match(text, /BENCH_ARP +text, default announce\n/);
  assert.match(text, /BENCH_ON +flag, default 1\n/);
  assert.match(text, /BENCH_SESSION +JSON, default \{\}\n/);
});

test('readOption reads one variable of a shared fragment, with the same rule', () => {
  const cc = option.text('cubic', 'cc', { pattern: /^[a-z]+$/, rule: 'a name' });
  assert.equal(readOption('BENCH_CC', cc, {}), 'cubic');
  assert.equal(readOption('BENCH_CC', cc, { BENCH_CC: 'bbr' }), 'bbr');
  assert.throws(() => readOption('BENCH_CC', cc, { BENCH_CC: 'b b' }), {
    message: 'BENCH_CC must be a name; got "b b"',
  });
});
