import { z } from 'zod';
import { RoamError } from '../../errors.js';

/**
 * The server's `admission: { … }` options (docs/session.md, "Admission control"). One zod
 * schema, so the session options' unified schema can take it as it is; every key has a safe
 * default for a server facing the Internet, and `admission: { enabled: false }` gives the
 * behaviour of roam before admission control (no cookies, no eviction, no per-source limits).
 */
export const admissionOptionsSchema = z.strictObject({
  /** Off: today's table (first come, refuse when full). Default on. */
  enabled: z.boolean().default(true),
  /**
   * When a new session must first echo a cookie: 'auto' under pressure only, 'always', or
   * 'never' (older clients, which do not know COOKIE, can then always connect).
   */
  cookie: z.enum(['auto', 'always', 'never']).default('auto'),
  /** How long a cookie stays valid: between half of this and all of it. */
  cookieLifetimeMs: z.number().int().min(1000).max(600_000).default(10_000),
  /** Pressure: the table is at least this full (share of maxSessions)… */
  pressureTableShare: z.number().min(0.01).max(1).default(0.5),
  /** …or at least this many HELLOs of new sessions arrived in the last second. */
  pressureHellosPerSecond: z.number().int().min(1).max(10_000_000).default(500),
  /** Pressure ends after this long with neither condition. */
  pressureCalmMs: z.number().int().min(100).max(3_600_000).default(10_000),
  /** A session that never confirmed WELCOME (no ACK, no attach proof) ends after this long. */
  unconfirmedTimeoutMs: z.number().int().min(100).max(600_000).default(5_000),
  /** Connections that have not completed HELLO, all sources; beyond, the oldest is closed. */
  maxHandshakes: z.number().int().min(1).max(1_000_000).default(4096),
  /**
   * Connections that have not completed HELLO from one source; beyond, new ones are closed.
   * Per-source defaults leave room for a NAT, or one process opening a hundred sessions at once.
   */
  maxHandshakesPerSource: z.number().int().min(1).max(1_000_000).default(256),
  /** Sessions not yet confirmed from one source; beyond, its HELLOs are refused (LIMIT). */
  maxUnconfirmedPerSource: z.number().int().min(1).max(1_000_000).default(256),
  /** Detached sessions of one source; beyond, its longest-detached expires. */
  maxDetachedPerSource: z.number().int().min(1).max(1_000_000).default(256),
  /** Detached sessions in all; beyond, the longest-detached expires. Default maxSessions / 2. */
  maxDetached: z.number().int().min(1).max(10_000_000).optional(),
  /** A source is an IPv4 address cut to this prefix… */
  ipv4PrefixLength: z.number().int().min(8).max(32).default(32),
  /** …or an IPv6 address cut to this one (one /64 is one subscriber's). */
  ipv6PrefixLength: z.number().int().min(16).max(128).default(64),
});

export type AdmissionOptions = z.input<typeof admissionOptionsSchema>;
export type ResolvedAdmissionOptions = Required<z.output<typeof admissionOptionsSchema>>;

/** Fills the defaults and checks every value; a bad one is ROAM_BAD_INPUT naming the key. */
export function resolveAdmissionOptions(
  given: unknown,
  maxSessions: number,
): ResolvedAdmissionOptions {
  // The table size admission divides by; the unified options schema will own this check.
  if (!Number.isInteger(maxSessions) || maxSessions < 1 || maxSessions > 10_000_000)
    throw new RoamError(
      'ROAM_BAD_INPUT',
      `maxSessions must be an integer within 1..10000000, got ${String(maxSessions)}`,
    );
  const result = admissionOptionsSchema.safeParse(given ?? {});
  if (!result.success) {
    const lines = result.error.issues.map(
      (i) => `admission${i.path.map((p) => `.${String(p)}`).join('')}: ${i.message}`,
    );
    throw new RoamError('ROAM_BAD_INPUT', `bad admission options: ${lines.join('; ')}`);
  }
  const o = result.data;
  return { ...o, maxDetached: o.maxDetached ?? Math.max(1, Math.floor(maxSessions / 2)) };
}
