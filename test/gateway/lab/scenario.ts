import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monoMs } from '../../../bench/workers/clock.js';
import { LinesProcess } from '../../../bench/workers/lines-process.js';
import type { Lab } from '../../../src/lab/lab.js';
import { UPLINK_A } from './topology.js';

export type FaultKind = 'stall' | 'down';

const here = dirname(fileURLToPath(import.meta.url));
export const FIXTURES = join(here, 'fixtures');

/** A Node origin fixture (no-range, chunked or by-path) inside the origin host. */
export async function startNodeOrigin(
  lab: Lab,
  address: string,
  port: number,
  dir: string,
  mode: 'no-range' | 'chunked' | 'by-path',
  pace: string[] = [],
): Promise<LinesProcess> {
  const origin = new LinesProcess(lab, 'origin', [
    process.execPath,
    join(FIXTURES, 'node-origin.js'),
    address,
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

export interface Failure {
  /** CLOCK_MONOTONIC ms just before the fault command, and once it has returned (in effect). */
  startedAt: number;
  faultAt: number;
  /** Wall clock ms at faultAt (the gateway's log lines carry wall-clock times). */
  faultWall: number;
}

/**
 * Uplink A fails: a silent stall of its wire, or the gateway's interface going down. Nothing
 * else — the gateway has to notice by itself (probes, link events).
 */
export async function failUplinkA(lab: Lab, fault: FaultKind): Promise<Failure> {
  const startedAt = monoMs();
  if (fault === 'stall') await lab.fault(UPLINK_A.link, 'stall');
  else await lab.fault(UPLINK_A.link, 'down', undefined, { side: 'a' });
  return { startedAt, faultAt: monoMs(), faultWall: Date.now() };
}
