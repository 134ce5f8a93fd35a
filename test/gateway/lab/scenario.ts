import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Lab } from '../../../src/lab/lab.js';
import { LinesProcess } from '../../../bench/workers/lines-process.js';
import { monoMs } from '../../../bench/workers/clock.js';
import { ORIGIN, UPLINK_A, UPLINK_B } from './topology.js';

// How a run treats uplink A's failure — the one thing that differs between compared runs:
//   splice  the gateway's HTTP engine relays port 80 and moves live responses (roam)
//   rst     the same relay, but a failure resets the clients' connections (the paper's case 3)
//   nat     plain kernel NAT: no relay; the failure only sends new flows to B (the paper's
//           "timeout" case 4, a gateway without roam)
export type Mode = 'splice' | 'rst' | 'nat';
export type FaultKind = 'stall' | 'down';

const here = dirname(fileURLToPath(import.meta.url));
export const FIXTURES = join(here, 'fixtures');

/** The gateway driver inside the gateway host (modes splice and rst). */
export async function startDriver(
  lab: Lab,
  mode: 'splice' | 'rst',
  ports: number[],
  balance: 'first' | 'round-robin' = 'first',
): Promise<LinesProcess> {
  const config = {
    lan: 'lan',
    mode,
    balance,
    origin: ORIGIN,
    ports,
    uplinks: [UPLINK_A, UPLINK_B].map(({ id, localAddress }) => ({ id, localAddress })),
  };
  const driver = new LinesProcess(lab, 'gateway', [
    process.execPath,
    join(FIXTURES, 'gateway-driver.js'),
    JSON.stringify(config),
  ]);
  try {
    await driver.waitFor((e) => e.event === 'listening', { what: 'gateway driver listening' });
  } catch (err) {
    await driver.stop();
    throw err;
  }
  return driver;
}

/** A Node origin fixture (no-range or chunked) inside the origin host. */
export async function startNodeOrigin(
  lab: Lab,
  port: number,
  dir: string,
  mode: 'no-range' | 'chunked',
  pace: string[] = [],
): Promise<LinesProcess> {
  const origin = new LinesProcess(lab, 'origin', [
    process.execPath,
    join(FIXTURES, 'node-origin.js'),
    ORIGIN,
    String(port),
    dir,
    mode,
    ...pace,
  ]);
  try {
    await origin.waitFor((e) => e.event === 'listening', { what: `${mode} origin listening` });
  } catch (err) {
    await origin.stop();
    throw err;
  }
  return origin;
}

/**
 * Uplink A fails. The fault on the wire first (a silent stall, or the gateway's interface
 * down), then what the gateway does about it: roam's engine is told (as its health monitor
 * will), the rst relay resets, plain NAT only stops routing new flows through A.
 * Returns the CLOCK_MONOTONIC time of the fault.
 */
export async function failUplinkA(
  lab: Lab,
  mode: Mode,
  fault: FaultKind,
  driver: LinesProcess | undefined,
  beforeSignal: () => void = () => undefined,
): Promise<{ faultAt: number; signalledAt: number }> {
  const faultAt = monoMs();
  if (fault === 'stall') await lab.fault(UPLINK_A.link, 'stall');
  else await lab.fault(UPLINK_A.link, 'down', undefined, { side: 'a' });
  beforeSignal();
  const signalledAt = monoMs();
  if (mode === 'nat') {
    // New flows to B. A downed interface takes its routes with it; a stalled one keeps them.
    if (fault === 'stall')
      await lab.exec('gateway', [
        'ip',
        'route',
        'del',
        'default',
        'via',
        UPLINK_A.next,
        'dev',
        UPLINK_A.link,
      ]);
    return { faultAt, signalledAt };
  }
  if (!driver) throw new Error(`mode ${mode} needs the gateway driver`);
  const mark = driver.mark;
  driver.send(`fail ${UPLINK_A.id}`);
  await driver.waitFor((e) => e.event === 'failed', { from: mark, what: 'failure handled' });
  return { faultAt, signalledAt };
}
