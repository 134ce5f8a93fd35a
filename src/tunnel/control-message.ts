import { z } from 'zod';

/**
 * Messages between the two ends' control planes, inside authenticated data packets (inner kind
 * "control"): JSON, so that both sides validate with one schema. The mobile end decides the
 * mode; the serve end follows it for its direction.
 */
export const MODES = ['best', 'redundant', 'aggregate'] as const;
export type TunnelMode = (typeof MODES)[number];

export const controlMessageSchema = z.discriminatedUnion('t', [
  z
    .object({
      t: z.literal('mode'),
      mode: z.enum(MODES),
      /** Paths in use (redundant, aggregate), by path id 0..7. */
      paths: z.array(z.number().int().min(0).max(7)).max(8),
      /** best mode: the path the serve end sends on (null: where data last came from). */
      active: z.number().int().min(0).max(7).nullable(),
      /** Per-path weights for aggregate mode, index = path id. */
      weights: z.array(z.number().int().min(0).max(100_000_000)).max(8),
    })
    .strict(),
]);
export type ControlMessage = z.infer<typeof controlMessageSchema>;

export function encodeControl(m: ControlMessage): Buffer {
  return Buffer.from(JSON.stringify(m));
}

/** The message, or undefined for anything that does not parse (counted by the caller). */
export function decodeControl(bytes: Buffer): ControlMessage | undefined {
  if (bytes.length > 4096) return undefined;
  try {
    const r = controlMessageSchema.safeParse(JSON.parse(bytes.toString('utf8')));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

export const MODE_CODES: Record<TunnelMode, number> = { best: 0, redundant: 1, aggregate: 2 };
