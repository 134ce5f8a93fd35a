import { sysctlCommands, runCommandsSync } from './system.js';
import {
  type GatewayState,
  pidAlive,
  readGatewayState,
  recordedGateways,
  removeGatewayState,
} from './state.js';

export interface RestoreResult {
  readonly name: string;
  /** The gateway was still running and was asked to stop first. */
  readonly stoppedPid: number | null;
  readonly commands: number;
}

/** Undo what a gateway recorded (synchronous: usable from exit hooks). */
export function restoreFromState(state: GatewayState): number {
  const commands = [...state.teardown, ...sysctlCommands(state.sysctls)];
  runCommandsSync(commands, state.netns);
  removeGatewayState(state.name);
  return commands.length;
}

function waitGone(pid: number, ms: number): boolean {
  const until = Date.now() + ms;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  while (pidAlive(pid)) {
    if (Date.now() > until) return false;
    Atomics.wait(sleeper, 0, 0, 20); // a CLI command with nothing else to do: block briefly
  }
  return true;
}

/** `roam gateway down NAME`: stop it if it runs (SIGTERM, then SIGKILL), then restore. */
export function gatewayDown(name: string): RestoreResult | undefined {
  const state = readGatewayState(name);
  if (!state) return undefined;
  let stoppedPid: number | null = null;
  if (state.pid !== process.pid && pidAlive(state.pid)) {
    stoppedPid = state.pid;
    process.kill(state.pid, 'SIGTERM');
    if (!waitGone(state.pid, 5000)) {
      process.kill(state.pid, 'SIGKILL');
      waitGone(state.pid, 2000);
    }
  }
  // A gateway that stopped cleanly removed its state; restoring again is harmless.
  const now = readGatewayState(name) ?? state;
  return { name, stoppedPid, commands: restoreFromState(now) };
}

export function gatewayDownAll(): RestoreResult[] {
  const out: RestoreResult[] = [];
  for (const name of recordedGateways()) {
    const r = gatewayDown(name);
    if (r) out.push(r);
  }
  return out;
}
