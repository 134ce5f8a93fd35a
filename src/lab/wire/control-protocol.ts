import { z } from 'zod';

/**
 * The wire daemon's control protocol: one JSON object per line over a unix socket that only
 * root can open. Parsing is pure and strict: the daemon validates every request.
 */

export const MAX_CONTROL_LINE = 64 * 1024;

const paramsPatch = z.strictObject({
  delayMs: z.number().finite().min(0).max(60_000).optional(),
  jitterMs: z.number().finite().min(0).max(60_000).optional(),
  loss: z.number().min(0).max(1).optional(),
  stall: z.boolean().optional(),
  /** Absolute path of a trace file, or null to leave trace mode. */
  trace: z.string().min(1).max(4096).nullable().optional(),
});

const request = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('ping') }),
  z.strictObject({ op: z.literal('stats') }),
  z.strictObject({ op: z.literal('shutdown') }),
  z.strictObject({
    op: z.literal('set'),
    link: z.string().min(1).max(64),
    dir: z.enum(['ab', 'ba']),
    params: paramsPatch,
  }),
]);

export type ControlRequest = z.infer<typeof request>;
export type WireParamsPatch = z.infer<typeof paramsPatch>;

export type ControlResponse =
  { ok: true; result?: unknown } | { ok: false; code: string; message: string };

export function parseControlRequest(line: string): ControlRequest | { error: string } {
  let data: unknown;
  try {
    data = JSON.parse(line);
  } catch {
    return { error: 'request is not JSON' };
  }
  const parsed = request.safeParse(data);
  if (!parsed.success) {
    return {
      error: parsed.error.issues
        .map((i) => `${i.path.join('.') || 'request'}: ${i.message}`)
        .join('; '),
    };
  }
  return parsed.data;
}
