/**
 * Every error a user can meet is a RoamError with a stable `code`, so callers branch on
 * `err.code` and never on message text. Messages say what happened and what to do.
 */
export class RoamError extends Error {
  readonly code: RoamErrorCode;

  constructor(code: RoamErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RoamError';
    this.code = code;
  }
}

export function isRoamError(err: unknown, code?: RoamErrorCode): err is RoamError {
  return err instanceof RoamError && (code === undefined || err.code === code);
}

/**
 * The catalogue of every error code a user can meet, by layer: RoamError takes only these,
 * so a new code fails to compile until it is listed here, and a test fails until it is
 * documented in docs/errors.md.
 */

export const GeneralErrorCodes = [
  'ROAM_BAD_INPUT',
  'ROAM_NATIVE_MISSING',
  'ROAM_TUN_OPEN',
] as const;

export const WireErrorCodes = [
  'ROAM_WIRE_MAGIC',
  'ROAM_WIRE_VERSION',
  'ROAM_WIRE_TYPE',
  'ROAM_WIRE_TOO_LARGE',
  'ROAM_WIRE_MALFORMED',
  'ROAM_DECODER_ABANDONED',
] as const;

export const SessionErrorCodes = [
  'ROAM_CONNECT_FAILED',
  'ROAM_CONNECT_TIMEOUT',
  'ROAM_HANDSHAKE_FAILED',
  'ROAM_HANDSHAKE_TIMEOUT',
  'ROAM_NOT_ROAM',
  'ROAM_SERVER_BUSY',
  'ROAM_PEER_ERROR',
  'ROAM_VERSION',
  'ROAM_BAD_PROOF',
  'ROAM_REPLAY',
  'ROAM_PROTOCOL',
  'ROAM_SESSION_UNKNOWN',
  'ROAM_SESSION_EXPIRED',
  'ROAM_SESSION_RESET',
  'ROAM_SESSION_CLOSED',
  'ROAM_SEQ_EXHAUSTED',
  'ROAM_PATH_LIMIT',
  'ROAM_TLS_PIN',
  'ROAM_LISTEN_FAILED',
  'ROAM_NOT_LISTENING',
] as const;

export const MobilityErrorCodes = [
  'ROAM_MOBILITY_NO_MONITOR',
  'ROAM_MOBILITY_MONITOR_EXITED',
] as const;

export const NamesErrorCodes = [
  'ROAM_NAMES_BAD_JSON',
  'ROAM_NAMES_BAD_NAME',
  'ROAM_NAMES_BAD_SIGNATURE',
  'ROAM_NAMES_CLOCK_SKEW',
  'ROAM_NAMES_COMPACTED',
  'ROAM_NAMES_CONFIG',
  'ROAM_NAMES_CONFLICT',
  'ROAM_NAMES_DB',
  'ROAM_NAMES_DB_LOCKED',
  'ROAM_NAMES_EXPIRED',
  'ROAM_NAMES_INTERNAL',
  'ROAM_NAMES_INVALID',
  'ROAM_NAMES_KEY_FILE',
  'ROAM_NAMES_METHOD',
  'ROAM_NAMES_NEED_DELEGATION',
  'ROAM_NAMES_NOT_FOUND',
  'ROAM_NAMES_NO_OWNER',
  'ROAM_NAMES_NO_ROUTE',
  'ROAM_NAMES_RATE_LIMITED',
  'ROAM_NAMES_STALE',
  'ROAM_NAMES_STORE_UNAVAILABLE',
  'ROAM_NAMES_TAKEN',
  'ROAM_NAMES_TOO_LARGE',
  'ROAM_NAMES_TOO_MANY_WATCHES',
  'ROAM_NAMES_UNREACHABLE',
  'ROAM_NAMES_UNTRUSTED',
  'ROAM_NAMES_WRONG_KEY',
] as const;

export const LabErrorCodes = [
  'ROAM_LAB_TOPOLOGY',
  'ROAM_LAB_COMMAND',
  'ROAM_LAB_DAEMON',
  'ROAM_LAB_NEEDS_ROOT',
  'ROAM_LAB_NOT_UP',
  'ROAM_LAB_AMBIGUOUS',
  'ROAM_LAB_NO_SUCH_HOST',
  'ROAM_LAB_NO_SUCH_LINK',
  'ROAM_LAB_STATE',
  'ROAM_CLOSED',
  'ROAM_LINK_LISTEN',
] as const;

export const GatewayErrorCodes = [
  'ROAM_GATEWAY_BAD_REQUEST',
  'ROAM_GATEWAY_BAD_RESPONSE',
  'ROAM_GATEWAY_UPSTREAM',
  'ROAM_GATEWAY_UPLINK_FAILED',
  'ROAM_GATEWAY_NOT_RESUMABLE',
  'ROAM_GATEWAY_RESUME_REJECTED',
  'ROAM_GATEWAY_RESUME_TIMEOUT',
  'ROAM_GATEWAY_NO_UPLINK',
  'ROAM_GATEWAY_INTERNAL',
  'ROAM_GATEWAY_COMMAND',
  'ROAM_GATEWAY_RUNNING',
  'ROAM_GATEWAY_NOT_RUNNING',
  'ROAM_GATEWAY_STATE',
  'ROAM_GATEWAY_UPLINK',
] as const;

export const TunnelErrorCodes = [
  'ROAM_TUNNEL_KEY',
  'ROAM_TUNNEL_HANDSHAKE',
  'ROAM_TUNNEL_RUNNING',
  'ROAM_TUNNEL_NOT_RUNNING',
  'ROAM_TUNNEL_STATE',
  'ROAM_TUNNEL_SYSTEM',
] as const;

export const CliErrorCodes = ['ROAM_NOT_ROOT', 'ROAM_USAGE'] as const;

export const ERROR_CODES = [
  ...GeneralErrorCodes,
  ...WireErrorCodes,
  ...SessionErrorCodes,
  ...MobilityErrorCodes,
  ...NamesErrorCodes,
  ...LabErrorCodes,
  ...GatewayErrorCodes,
  ...TunnelErrorCodes,
  ...CliErrorCodes,
] as const;

export type RoamErrorCode = (typeof ERROR_CODES)[number];

/** Environment variables that look like codes but are settings (documented in their pages). */
export const ENVIRONMENT_NAMES = [
  'ROAM_LOG_LEVEL',
  'ROAM_DEBUG',
  'ROAM_NAMES_SERVER',
  'ROAM_NAMES_ETCD_ENDPOINTS',
  'ROAM_LAB_STATE_DIR',
] as const;

/** A code that came over a wire or a socket from another roam process, checked. */
export function knownCode(code: unknown, otherwise: RoamErrorCode): RoamErrorCode {
  return (ERROR_CODES as readonly unknown[]).includes(code) ? (code as RoamErrorCode) : otherwise;
}
