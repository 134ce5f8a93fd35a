import { connect } from 'node:net';
import { knownCode, RoamError } from '../../errors.js';
import { controlSocketPath } from '../state.js';
import { type ControlRequest, type ControlResponse, MAX_CONTROL_LINE } from './control-protocol.js';

/** Sends one request to a lab's wire daemon and returns its result, or throws its error. */
export function controlRequest(
  labId: string,
  req: ControlRequest,
  timeoutMs = 5000,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = connect(controlSocketPath(labId));
    let buffered = '';
    const fail = (err: Error) => {
      socket.destroy();
      reject(err);
    };
    socket.setTimeout(timeoutMs, () =>
      fail(
        new RoamError(
          'ROAM_LAB_DAEMON',
          `lab ${labId}: wire daemon did not answer within ${timeoutMs} ms`,
        ),
      ),
    );
    socket.on('error', (err) =>
      fail(
        new RoamError(
          'ROAM_LAB_DAEMON',
          `lab ${labId}: wire daemon unreachable (${(err as NodeJS.ErrnoException).code ?? err.message}); is the lab up? \`roam lab status\``,
        ),
      ),
    );
    socket.on('connect', () => socket.write(`${JSON.stringify(req)}\n`));
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.length > MAX_CONTROL_LINE)
        return fail(new RoamError('ROAM_LAB_DAEMON', 'oversized answer from the wire daemon'));
      const end = buffered.indexOf('\n');
      if (end < 0) return;
      socket.end();
      let res: ControlResponse;
      try {
        res = JSON.parse(buffered.slice(0, end)) as ControlResponse;
      } catch {
        return fail(new RoamError('ROAM_LAB_DAEMON', 'unreadable answer from the wire daemon'));
      }
      if (res.ok) resolve(res.result);
      else reject(new RoamError(knownCode(res.code, 'ROAM_LAB_DAEMON'), res.message));
    });
  });
}
