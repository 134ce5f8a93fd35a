import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { isRoamError, RoamError } from '../../src/errors.js';
import { applyFault, type StepRunner } from '../../src/lab/fault/apply.js';
import { parseFault } from '../../src/lab/fault/fault.js';
import { labNamespaceList, type NetSnapshot, netSnapshot } from '../../src/lab/fault/snapshot.js';
import { Lab } from '../../src/lab/lab.js';
import type { Step } from '../../src/lab/plan/step.js';
import { runSteps } from '../../src/lab/system/run.js';
import { packageRoot } from '../../src/package-root.js';
import { assertLabGone, labSkipReason, simpleTopology } from './lab-support.js';

// Issue 18, points 2 and 5: a fault is checked before anything changes and undone if a step
// fails (compared from `ip -j` / `tc -j` in every namespace of the lab), and `roam lab exec`
// passes SIGINT, SIGTERM and SIGHUP on to its command and exits 128+N.
//
//   client ── wifi (10.1.0.0/24) ── router ── srv (10.9.0.0/24) ── server

const CLI = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');

describe('atomic faults and lab exec signals', { skip: labSkipReason() }, () => {
  let lab: Lab;
  const snapshot = (): Promise<NetSnapshot> => netSnapshot(labNamespaceList(lab.state));
  /**
   * The lab once the kernel has finished reacting to the last applied fault (a link that
   * came up gets its carrier, and its routes lose `linkdown`, a moment later): the first of
   * two listings in a row that agree. A refused fault must leave exactly that.
   */
  const settled = async (): Promise<NetSnapshot> => {
    let last = await snapshot();
    for (let i = 0; i < 100; i++) {
      const next = await snapshot();
      if (JSON.stringify(next) === JSON.stringify(last)) return next;
      last = next;
    }
    throw new Error('the lab did not settle after 100 listings');
  };

  before(async () => {
    lab = await Lab.up(simpleTopology({ name: 'newcomer' }));
  });
  after(async () => {
    const id = lab.id;
    await lab.down();
    assertLabGone(id);
  });

  test('renumber to an address outside the subnet is refused before anything changes', async () => {
    const before = await snapshot();
    await assert.rejects(
      lab.fault('wifi', 'renumber', '10.2.0.5'),
      (e) =>
        isRoamError(e, 'ROAM_BAD_INPUT') &&
        e.message ===
          'cannot renumber wifi side a to 10.2.0.5: not in its subnet 10.1.0.0/24 (it is 10.1.0.2/24); the lab is unchanged',
    );
    await assert.rejects(
      lab.fault('wifi', 'renumber', '10.1.0.1'),
      (e) =>
        isRoamError(e, 'ROAM_BAD_INPUT') &&
        e.message ===
          'cannot renumber wifi side a to 10.1.0.1: that address is taken; the lab is unchanged',
    );
    assert.deepEqual(await snapshot(), before);
    // A later `up` leaves one address and no stray rule: exactly the state before.
    await lab.fault('wifi', 'up');
    assert.deepEqual(await snapshot(), before);
  });

  test('a renumber whose n-th command fails is undone, for every n', async () => {
    const fault = parseFault('renumber', '10.1.0.77', { announce: true });
    const before = await snapshot();
    let n = 0;
    for (let failAt = 0; ; failAt++) {
      let count = 0;
      const runner: StepRunner = async (steps: readonly Step[]) => {
        for (const step of steps) {
          if (count++ === failAt)
            throw new RoamError(
              'ROAM_LAB_COMMAND',
              `injected failure at \`${step.argv.join(' ')}\``,
            );
          await runSteps([step]);
        }
      };
      const outcome = await applyFault(lab.state, 'wifi', fault, runner).then(
        () => 'applied' as const,
        (e: unknown) => e,
      );
      if (outcome === 'applied') break; // failAt is past the last command
      n++;
      assert.ok(isRoamError(outcome, 'ROAM_LAB_COMMAND'), String(outcome));
      assert.match(
        outcome.message,
        /^renumber wifi side a to 10\.1\.0\.77 failed and was undone, the lab is as it was: injected failure at `ip -n \S+ .*`$/,
      );
      assert.deepEqual(await snapshot(), before, `after a failure at command ${failAt}`);
    }
    assert.ok(n >= 10, `only ${n} commands were tried`);
    // applyFault with an injected runner does not write the state; the kernel moved: move back.
    await applyFault(lab.state, 'wifi', parseFault('renumber', '10.1.0.2'));
    await lab.fault('wifi', 'up');
  });

  test('property: after any refused fault, addresses, routes, rules and qdiscs are as before', async () => {
    const values: Record<string, (string | undefined)[]> = {
      renumber: [
        undefined,
        '10.1.0.50',
        '10.9.0.60',
        '10.2.0.5',
        '10.1.0.255',
        '10.1.0.0',
        '10.1.0.1',
        'x',
      ],
      loss: ['0.01', '1%', '2', '-1', 'lots', undefined],
      delay: ['5ms', '10 msec', '-5', undefined],
      jitter: ['1ms', 'soon', undefined],
      rate: ['8mbit', 'unlimited', '0', '20mbps', 'fast', undefined],
      trace: ['lte-steady', 'none', '/nonexistent/roam.trace', undefined],
      stall: [undefined],
      down: [undefined],
      up: [undefined],
      bogus: [undefined, '1'],
    };
    const faultArb = fc
      .record({
        link: fc.constantFrom('wifi', 'srv', 'nosuch'),
        // Renumber is the fault with the most steps to half-apply: drawn more often.
        kind: fc.oneof(
          { weight: 4, arbitrary: fc.constant('renumber') },
          { weight: 6, arbitrary: fc.constantFrom(...Object.keys(values)) },
        ),
        pick: fc.nat(),
        side: fc.constantFrom('a' as const, 'b' as const),
        direction: fc.constantFrom('up' as const, 'down' as const, 'both' as const),
      })
      .map((f) => {
        const list = values[f.kind] ?? [undefined];
        return { ...f, value: list[f.pick % list.length] };
      });
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(faultArb, async (f) => {
        const before = await settled();
        try {
          await lab.fault(f.link, f.kind, f.value, { side: f.side, direction: f.direction });
          return; // applied: the state may change, which the next run starts from
        } catch (err) {
          if (!(err instanceof RoamError)) throw err;
          assert.equal(err.message.includes('\n'), false, 'one line');
          assert.doesNotMatch(err.message, /could not be fully undone/);
          refused++;
        }
        assert.deepEqual(await snapshot(), before, JSON.stringify(f));
      }),
      { numRuns: 50, seed: 18 },
    );
    assert.ok(refused >= 10, `only ${refused} faults were refused`);
  });

  for (const [signal, n] of [
    ['SIGTERM', 15],
    ['SIGINT', 2],
    ['SIGHUP', 1],
  ] as const) {
    test(`roam lab exec passes ${signal} to its command and exits ${128 + n}`, async () => {
      const roam = spawn(
        process.execPath,
        [CLI, 'lab', 'exec', '--lab', lab.id, 'client', '--', 'sh', '-c', 'echo $$; exec sleep 30'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      roam.stderr.on('data', (c: Buffer) => (stderr += c));
      try {
        const [first] = (await once(roam.stdout, 'data')) as [Buffer];
        const inner = Number(first.toString().trim());
        assert.ok(inner > 0);
        const exited = once(roam, 'exit') as Promise<[number | null, string | null]>;
        roam.kill(signal);
        const [code, bySignal] = await exited;
        assert.deepEqual([code, bySignal, stderr], [128 + n, null, '']);
        // The command was stopped, not orphaned.
        assert.throws(() => process.kill(inner, 0), { code: 'ESRCH' });
      } finally {
        if (roam.exitCode === null && roam.signalCode === null) roam.kill('SIGKILL');
      }
    });
  }
});
