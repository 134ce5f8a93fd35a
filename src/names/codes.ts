import { RoamError } from '../errors.js';

/**
 * Every error of the name service, with the HTTP status the server answers it with. The
 * client turns a `{ code, message }` body back into a RoamError with the same code, so a
 * caller branches on `err.code` whether the error was raised locally or by the server.
 */
export const NAMES_ERRORS = {
  ROAM_NAMES_INVALID: 400,
  ROAM_NAMES_BAD_JSON: 400,
  ROAM_NAMES_BAD_NAME: 400,
  ROAM_NAMES_EXPIRED: 400,
  ROAM_NAMES_CLOCK_SKEW: 400,
  ROAM_NAMES_BAD_SIGNATURE: 403,
  ROAM_NAMES_WRONG_KEY: 403,
  ROAM_NAMES_NOT_FOUND: 404,
  ROAM_NAMES_NO_ROUTE: 404,
  ROAM_NAMES_METHOD: 405,
  ROAM_NAMES_STALE: 409,
  ROAM_NAMES_TAKEN: 409,
  ROAM_NAMES_NO_OWNER: 409,
  ROAM_NAMES_CONFLICT: 409,
  ROAM_NAMES_TOO_LARGE: 413,
  ROAM_NAMES_RATE_LIMITED: 429,
  ROAM_NAMES_TOO_MANY_WATCHES: 429,
  ROAM_NAMES_COMPACTED: 410,
  ROAM_NAMES_INTERNAL: 500,
  ROAM_NAMES_STORE_UNAVAILABLE: 503,
  // Raised on the client side or by the CLI only.
  ROAM_NAMES_UNREACHABLE: 502,
  ROAM_NAMES_UNTRUSTED: 502,
  ROAM_NAMES_NEED_DELEGATION: 400,
  ROAM_NAMES_KEY_FILE: 400,
  ROAM_NAMES_DB: 500,
  ROAM_NAMES_DB_LOCKED: 500,
  ROAM_NAMES_CONFIG: 400,
} as const;

export type NamesErrorCode = keyof typeof NAMES_ERRORS;

/** A RoamError that may carry machine-readable details (sent in the HTTP error body). */
export class NamesError extends RoamError {
  readonly details: Readonly<Record<string, number | string>> | undefined;

  constructor(
    code: NamesErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, number | string> },
  ) {
    super(code, message, options);
    this.details = options?.details;
  }
}

export function namesError(
  code: NamesErrorCode,
  message: string,
  options?: { cause?: unknown; details?: Record<string, number | string> },
): NamesError {
  return new NamesError(code, message, options);
}

export function isNamesCode(code: string): code is NamesErrorCode {
  return Object.hasOwn(NAMES_ERRORS, code);
}

/** The HTTP status for an error; anything that is not a names error is a 500. */
export function httpStatusOf(err: unknown): number {
  if (err instanceof RoamError && isNamesCode(err.code)) return NAMES_ERRORS[err.code];
  return 500;
}
