import { RoamError } from '../errors.js';

/** Codes of the errors a decoder throws; callers branch on `err.code`. */
export const WireErrorCode = {
  /** A HELLO or control datagram that does not start with its magic: not a roam peer. */
  MAGIC: 'ROAM_WIRE_MAGIC',
  /** A HELLO or control datagram of a protocol version this end does not speak. */
  VERSION: 'ROAM_WIRE_VERSION',
  /** A frame or control datagram of a type this version does not define. */
  TYPE: 'ROAM_WIRE_TYPE',
  /** A length over the limit of its type, rejected before any of the body is buffered. */
  TOO_LARGE: 'ROAM_WIRE_TOO_LARGE',
  /** Anything else: wrong fixed length, reserved flag bits set, bad address family, … */
  MALFORMED: 'ROAM_WIRE_MALFORMED',
} as const;
export type WireErrorCode = (typeof WireErrorCode)[keyof typeof WireErrorCode];

/**
 * Bytes from the peer that break the wire format. The session answers with an ERROR frame
 * (VERSION for ROAM_WIRE_VERSION, PROTOCOL otherwise) and closes the flowpath.
 */
export class WireError extends RoamError {
  declare readonly code: WireErrorCode;

  constructor(code: WireErrorCode, message: string) {
    super(code, message);
    this.name = 'WireError';
  }
}

/**
 * Codes carried by ERROR frames (u16 on the wire). A receiver must accept codes it does not
 * know and treat them like PROTOCOL.
 */
export const ErrorCode = {
  /** The peer broke the protocol: a malformed frame, or a frame not allowed in this state. */
  PROTOCOL: 1,
  /** An attach HELLO named a session (connId) this server does not have. */
  UNKNOWN_SESSION: 2,
  /** A proof did not verify against the session's secret. */
  BAD_PROOF: 3,
  /** An attach counter not above the last one accepted: a replayed or stale HELLO. */
  REPLAY: 4,
  /** The session existed but was dropped (idle or detached too long). */
  EXPIRED: 5,
  /** The HELLO's protocol version is not supported by this end. */
  VERSION: 6,
  /** A limit was reached: too many sessions, flowpaths or buffered bytes. */
  LIMIT: 7,
  /** The peer did not answer in time (handshake or keepalive). */
  TIMEOUT: 8,
  /** The session is closed or closing; no new flowpath is accepted for it. */
  CLOSED: 9,
  /**
   * The session was destroyed with bytes of ours it had not read (TCP would answer with a
   * reset): the peer's application gets an error, not an orderly end.
   */
  RESET: 10,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The error every encoder throws for a field out of range: a bug in the caller. */
export function badInput(message: string): RoamError {
  return new RoamError('ROAM_BAD_INPUT', message);
}

export function malformed(message: string): WireError {
  return new WireError(WireErrorCode.MALFORMED, message);
}
