/**
 * Every error a user can meet is a RoamError with a stable `code`, so callers branch on
 * `err.code` and never on message text. Messages say what happened and what to do.
 */
export class RoamError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RoamError';
    this.code = code;
  }
}

export function isRoamError(err: unknown, code?: string): err is RoamError {
  return err instanceof RoamError && (code === undefined || err.code === code);
}
