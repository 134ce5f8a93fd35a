import { RoamError } from '../../errors.js';
import { ErrorCode, type Frame, type HelloFrame, INITIAL_WINDOW } from '../../wire/index.js';
import type { Flowpath } from '../flowpath.js';

/**
 * Server, after it answered a HELLO with COOKIE: waits on the same flowpath for the echo,
 * COOKIE then HELLO. The early data the client sent after its first HELLO belongs to no
 * session and is dropped as it comes (the client sends it again after the echo), up to
 * what a client may send before WELCOME; anything else is a protocol error.
 */
export function awaitEcho(
  path: Flowpath,
  timeoutMs: number,
): Promise<{ cookie: Buffer; hello: HelloFrame }> {
  return new Promise((resolve, reject) => {
    let cookie: Buffer | undefined;
    let dropped = 0;
    const done = (fn: () => void) => {
      clearTimeout(timer);
      path.off('frame', onFrame);
      path.off('closed', onClosed);
      fn();
    };
    const fail = (reason: string) =>
      done(() => {
        path.fail(`cookie echo: ${reason}`, { code: ErrorCode.PROTOCOL, reason });
        reject(new RoamError('ROAM_HANDSHAKE_FAILED', `cookie echo: ${reason}`));
      });
    const onFrame = (frame: Frame) => {
      if (frame.type === 'data' && cookie === undefined) {
        dropped += frame.payload.length;
        if (dropped > 2 * INITIAL_WINDOW) fail('more early data than a client may send');
        return;
      }
      if (frame.type === 'cookie' && cookie === undefined) {
        cookie = frame.cookie;
        return;
      }
      if (frame.type === 'hello' && cookie !== undefined) {
        const echoed = cookie;
        done(() => resolve({ cookie: echoed, hello: frame }));
        return;
      }
      if (frame.type === 'error') {
        done(() => {
          path.close(`peer error ${frame.code} during the cookie echo`);
          reject(
            new RoamError('ROAM_HANDSHAKE_FAILED', `peer error ${frame.code}: ${frame.reason}`),
          );
        });
        return;
      }
      fail(`expected COOKIE then HELLO, got ${frame.type.toUpperCase()}`);
    };
    const onClosed = (reason: string) =>
      done(() =>
        reject(new RoamError('ROAM_HANDSHAKE_FAILED', `closed before the cookie echo: ${reason}`)),
      );
    const timer = setTimeout(() => fail('no echo in time'), timeoutMs);
    path.on('frame', onFrame);
    path.once('closed', onClosed);
    path.deliverHeld();
  });
}
