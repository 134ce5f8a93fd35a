import { connect } from 'node:net';
import { RoamError } from '../../errors.js';
import type { GatewayStatus } from '../status/model.js';
import {
  controlSocketPath,
  pidAlive,
  readGatewayState,
  recordedGateways,
} from '../routing/state.js';

export const NOT_RUNNING = 'ROAM_GATEWAY_NOT_RUNNING';

/** The running gateway's name: the one given, or the only one running. */
export function runningGatewayName(name?: string): string {
  if (name !== undefined) return name;
  const running = recordedGateways().filter((n) => {
    const s = readGatewayState(n);
    return s !== undefined && pidAlive(s.pid);
  });
  if (running.length === 1 && running[0] !== undefined) return running[0];
  throw new RoamError(
    NOT_RUNNING,
    running.length === 0
      ? 'no roam gateway is running (start one with roam gateway up)'
      : `several gateways run (${running.join(', ')}): name one with --name`,
  );
}

/** Asks a running gateway for its status over its control socket. */
export function fetchGatewayStatus(name: string, timeoutMs = 5000): Promise<GatewayStatus> {
  return new Promise((resolve, reject) => {
    const socket = connect(controlSocketPath(name));
    let buf = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new RoamError(NOT_RUNNING, `gateway ${name} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write('{"op":"status"}\n'));
    socket.on('data', (d: string) => {
      buf += d;
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(new RoamError(NOT_RUNNING, `gateway ${name} is not running (${err.message})`));
    });
    socket.on('end', () => {
      clearTimeout(timer);
      try {
        const reply = JSON.parse(buf) as { ok?: GatewayStatus; error?: string };
        if (reply.ok) resolve(reply.ok);
        else reject(new RoamError(NOT_RUNNING, `gateway ${name}: ${reply.error ?? 'no answer'}`));
      } catch (err) {
        reject(
          new RoamError(NOT_RUNNING, `gateway ${name}: bad answer (${(err as Error).message})`),
        );
      }
    });
  });
}
