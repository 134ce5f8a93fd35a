import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Lab } from '../../src/lab/lab.js';
import { labSkipReason, withLab } from '../lab/lab-support.js';
import { TARGET, TunnelRig, tunnelTopology } from './tunnel-rig.js';

const skip = labSkipReason();

/** Goodput in Mbit/s of iperf3 TCP through the tunnel to the target (first second omitted). */
async function goodput(lab: Lab, seconds: number, streams = 1): Promise<number> {
  // iperf3's server refuses a test while it still closes the previous one ('busy', a reset
  // of the new control connection, or 'refused' while it reopens its listening socket; CI
  // saw all three): try again then.
  for (let attempt = 0; ; attempt++) {
    const { stdout } = await lab.exec(
      'client',
      [
        'iperf3',
        '-c',
        TARGET,
        '-p',
        '5303',
        '-t',
        String(seconds),
        '-O',
        '1',
        '-P',
        String(streams),
        '-C',
        'cubic',
        '-J',
      ],
      { mayFail: true },
    );
    const r = JSON.parse(stdout) as {
      error?: string;
      end: { sum_received?: { bits_per_second: number } };
    };
    if (r.end.sum_received) return r.end.sum_received.bits_per_second / 1e6;
    if (!/busy|reset|refused/.test(r.error ?? '') || attempt >= 5)
      throw new Error(`iperf3 (${streams} streams): ${r.error ?? 'no result'}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function withIperf<T>(lab: Lab, rig: TunnelRig, fn: () => Promise<T>): Promise<T> {
  const server = lab.spawn('target', ['iperf3', '-s', '-p', '5303'], { stdio: 'ignore' });
  const done = new Promise((r) => server.once('exit', r));
  try {
    await rig.until('iperf3 server', async () =>
      (await lab.exec('target', ['ss', '-ltn'])).stdout.includes(':5303'),
    );
    return await fn();
  } finally {
    server.kill('SIGKILL');
    await done;
  }
}

describe('roam tunnel modes in the lab', { skip }, () => {
  test("switching the path every 1 s keeps TCP goodput at ≥ 90% of no switching (the seed's open problem)", async () => {
    const rate = { rate: '20mbit' };
    await withLab(tunnelTopology({ wifi: rate, cell: rate }), async (lab) => {
      const rig = await TunnelRig.start(lab);
      try {
        await withIperf(lab, rig, async () => {
          await rig.mode('best', 'wifi');
          const still = await goodput(lab, 10);
          let on = 'wifi';
          let switches = 0;
          const before = (await rig.server()).counters;
          const flip = setInterval(() => {
            on = on === 'wifi' ? 'cell' : 'wifi';
            switches++;
            void rig.mode('best', on).catch(() => undefined);
          }, 1000);
          let switching: number;
          try {
            switching = await goodput(lab, 10);
          } finally {
            clearInterval(flip);
          }
          const after = (await rig.server()).counters;
          const held = (after.reorderHeld ?? 0) - (before.reorderHeld ?? 0);
          console.log(
            `# forced switching every 1 s (${switches} switches, wifi RTT 10 ms / cell 40 ms, 20 Mbit/s each): ${switching.toFixed(2)} Mbit/s vs ${still.toFixed(2)} without (${((switching / still) * 100).toFixed(1)}%); packets reordered back into sequence at the serve end: ${held}`,
          );
          assert.ok(switches >= 8);
          assert.ok(switching >= 0.9 * still, `${switching} vs ${still}`);
        });
      } finally {
        await rig.stop();
      }
    });
  });

  test('aggregate over 20 + 8 Mbit/s (RTT 20 and 80 ms): 1 and 8 TCP flows against the sum of the single paths', async () => {
    await withLab(
      tunnelTopology({
        wifi: { rate: '20mbit', delay: '10ms', queue: 34 },
        cell: { rate: '8mbit', delay: '40ms', queue: 54 },
      }),
      async (lab) => {
        const rig = await TunnelRig.start(lab, {
          uplinks: ['wifi,weight=20000', 'cell,weight=8000'],
        });
        try {
          await withIperf(lab, rig, async () => {
            await rig.mode('best', 'wifi');
            const wifi = await goodput(lab, 8);
            await rig.mode('best', 'cell');
            const cell = await goodput(lab, 8);
            await rig.mode('aggregate');
            const before = (await rig.server()).counters;
            const one = await goodput(lab, 10);
            const eight = await goodput(lab, 10, 8);
            const after = (await rig.server()).counters;
            const sum = wifi + cell;
            const pct = (x: number) => `${((x / sum) * 100).toFixed(1)}%`;
            console.log(
              `# aggregate: wifi alone ${wifi.toFixed(2)}, cell alone ${cell.toFixed(2)} Mbit/s; 1 flow ${one.toFixed(2)} (${pct(one)} of the sum), 8 flows ${eight.toFixed(2)} (${pct(eight)}); reordered at the serve end ${(after.reorderHeld ?? 0) - (before.reorderHeld ?? 0)}, gaps given up ${(after.reorderSkipped ?? 0) - (before.reorderSkipped ?? 0)}, late ${(after.reorderLate ?? 0) - (before.reorderLate ?? 0)}`,
            );
            // Measured, not yet the goal (95% of the sum): one flow does not collapse, eight gain.
            assert.ok(one >= 0.8 * wifi, 'one flow keeps most of the fast path');
            assert.ok(eight > wifi, 'eight flows gain from the second path');
          });
        } finally {
          await rig.stop();
        }
      },
    );
  });
});
