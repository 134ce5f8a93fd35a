import { RoamError } from '../errors.js';
import { rootLogger } from '../log/logger.js';
import { attachProofInput, ErrorCode, type Frame } from '../wire/index.js';
import type { Flowpath } from './flowpath.js';
import { hmac, proofMatches } from './secret.js';

/**
 * The first frame exchange on a flowpath, shared by both ends: waiting for the peer's first
 * frame with a deadline, and the attach proofs. Each proof covers the session id, the path
 * id, the attach counter (strictly increasing, so a replayed HELLO is refused), the resume
 * point and both nonces: knowledge of the session secret, fresh for this exchange.
 */

export type HelloFrame = Extract<Frame, { type: 'hello' }>;
export type WelcomeFrame = Extract<Frame, { type: 'welcome' }>;

/** Resolves with the peer's first frame; rejects on close, on an ERROR frame, or on timeout. */
export function firstFrame(path: Flowpath, timeoutMs: number): Promise<Frame> {
  return new Promise((resolve, reject) => {
    const done = (fn: () => void) => {
      clearTimeout(timer);
      path.off('frame', onFrame);
      path.off('closed', onClosed);
      fn();
    };
    const onFrame = (frame: Frame) =>
      done(() => {
        if (frame.type !== 'error') return resolve(frame);
        // The peer gave up on this flowpath: so do we (nobody would read it any more).
        rootLogger().warn(
          {
            errorCode: frame.code,
            remote: path.socket.remoteAddress,
            remotePort: path.socket.remotePort,
            detail: frame.reason.slice(0, 200),
          },
          'flowpath closed: the peer sent ERROR during the handshake',
        );
        path.close(`peer error ${frame.code} during the handshake: ${frame.reason}`);
        reject(errorFromPeer(frame.code, frame.reason));
      });
    const onClosed = (reason: string) =>
      done(() =>
        reject(
          new RoamError('ROAM_HANDSHAKE_FAILED', `flowpath closed during the handshake: ${reason}`),
        ),
      );
    const timer = setTimeout(
      () =>
        done(() => {
          path.fail('handshake timeout', { code: ErrorCode.TIMEOUT, reason: 'handshake timeout' });
          reject(
            new RoamError('ROAM_HANDSHAKE_TIMEOUT', `no handshake answer within ${timeoutMs} ms`),
          );
        }),
      timeoutMs,
    );
    path.on('frame', onFrame);
    path.once('closed', onClosed);
  });
}

export function errorFromPeer(code: number, reason: string): RoamError {
  switch (code) {
    case ErrorCode.UNKNOWN_SESSION:
      return new RoamError(
        'ROAM_SESSION_UNKNOWN',
        `the server does not know this session: ${reason}`,
      );
    case ErrorCode.EXPIRED:
      return new RoamError('ROAM_SESSION_EXPIRED', `the session expired at the server: ${reason}`);
    case ErrorCode.BAD_PROOF:
      return new RoamError('ROAM_BAD_PROOF', `the server refused our proof: ${reason}`);
    case ErrorCode.REPLAY:
      return new RoamError('ROAM_REPLAY', `the server saw this attach before: ${reason}`);
    case ErrorCode.VERSION:
      return new RoamError('ROAM_VERSION', `the server speaks another protocol version: ${reason}`);
    case ErrorCode.LIMIT:
      return new RoamError('ROAM_SERVER_BUSY', `the server is at a limit: ${reason}`);
    default:
      return new RoamError('ROAM_PEER_ERROR', `the peer closed the flowpath (${code}): ${reason}`);
  }
}

export interface AttachFields {
  connId: Buffer;
  pathId: number;
  counter: number;
  received: number;
  clientNonce: Buffer;
  serverNonce: Buffer;
}

export function attachProof(secret: Buffer, role: 'client' | 'server', f: AttachFields): Buffer {
  return hmac(secret, attachProofInput(role, f));
}

export function attachProofValid(
  secret: Buffer,
  role: 'client' | 'server',
  f: AttachFields,
  proof: Buffer,
): boolean {
  return proofMatches(secret, attachProofInput(role, f), proof);
}
