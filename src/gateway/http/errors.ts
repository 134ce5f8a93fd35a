import { isRoamError, RoamError } from '../../errors.js';

/**
 * Stable codes of the HTTP engine. A flow that fails records one of these; callers and
 * tests branch on `err.code`, never on the message.
 */
export const GatewayCode = {
  /** The client sent malformed HTTP or exceeded a limit (head size, header count). */
  BadRequest: 'ROAM_GATEWAY_BAD_REQUEST',
  /** The origin sent malformed HTTP, exceeded a limit, or lied about its framing. */
  BadResponse: 'ROAM_GATEWAY_BAD_RESPONSE',
  /** The upstream connection failed, timed out or closed in the middle of a response. */
  Upstream: 'ROAM_GATEWAY_UPSTREAM',
  /** The uplink carrying the flow was declared failed (`flow.uplinkFailed()`). */
  UplinkFailed: 'ROAM_GATEWAY_UPLINK_FAILED',
  /** The response cannot be resumed: method, request body, status, no strong validator. */
  NotResumable: 'ROAM_GATEWAY_NOT_RESUMABLE',
  /** The re-request's response does not continue the original: content changed, wrong range. */
  ResumeRejected: 'ROAM_GATEWAY_RESUME_REJECTED',
  /** A resume attempt or a discard catch-up took longer than allowed. */
  ResumeTimeout: 'ROAM_GATEWAY_RESUME_TIMEOUT',
  /** pickUplink() had no uplink to offer. */
  NoUplink: 'ROAM_GATEWAY_NO_UPLINK',
  /** A bug in the engine; the flow is closed and the gateway keeps running. */
  Internal: 'ROAM_GATEWAY_INTERNAL',
} as const;

export type GatewayCode = (typeof GatewayCode)[keyof typeof GatewayCode];

export const badRequest = (message: string): RoamError =>
  new RoamError(GatewayCode.BadRequest, message);

export const badResponse = (message: string): RoamError =>
  new RoamError(GatewayCode.BadResponse, message);

/** What a catch block got, as a RoamError: ours as is, anything else is a bug. */
export function asRoamError(err: unknown): RoamError {
  if (isRoamError(err)) return err;
  return new RoamError(GatewayCode.Internal, `internal error: ${String(err)}`, { cause: err });
}
