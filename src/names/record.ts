import { isIP } from 'node:net';
import { z } from 'zod';
import { canonicalJson } from './canonical.js';
import { namesError } from './codes.js';
import { PUBLIC_KEY_RE, SIGNATURE_RE } from './keys.js';
import { MAX_NAME_LENGTH } from './name.js';

/**
 * A name record and its validation. Every field is bounded, so a record fits in a few KiB
 * whatever a client sends. The schema is strict: an unknown field is an error, not ignored,
 * because a field the server dropped would silently break the owner's signature.
 */
export const LIMITS = {
  addresses: 16,
  relays: 8,
  attributes: 32,
  attributeKey: 64,
  attributeValue: 256,
  attributesBytes: 4096,
  recordBytes: 8192,
  host: 253,
} as const;

export const IFACES = ['wifi', 'cellular', 'ethernet', 'other'] as const;
export const KINDS = ['user', 'device', 'service'] as const;
export type Iface = (typeof IFACES)[number];
export type Kind = (typeof KINDS)[number];

const port = z.number().int().min(1).max(65535);
const ip = z
  .string()
  .max(45)
  .refine((s) => isIP(s) !== 0, 'must be an IPv4 or IPv6 address');
const HOST_RE =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const host = z
  .string()
  .max(LIMITS.host)
  .refine((s) => isIP(s) !== 0 || HOST_RE.test(s), 'must be a host name or an IP address');
const publicKey = z.string().regex(PUBLIC_KEY_RE, 'must be a base64url Ed25519 public key');
const signature = z.string().regex(SIGNATURE_RE, 'must be a base64url Ed25519 signature');
const integer = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

export const addressSchema = z.strictObject({
  ip,
  port,
  iface: z.enum(IFACES),
  /** Lower is preferred, as with DNS MX and SRV. */
  priority: z.number().int().min(0).max(65535),
});

export const delegationSchema = z.strictObject({
  /** The user's public key, which signed `{ name, key, issued }`. */
  key: publicKey,
  /** When the user issued it (ms since the epoch); a newer delegation replaces an older one. */
  issued: integer,
  signature,
});

const attributes = z
  .record(
    z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'attribute names: A-Z a-z 0-9 . _ -'),
    z.string().max(LIMITS.attributeValue),
  )
  .refine((a) => Object.keys(a).length <= LIMITS.attributes, `at most ${LIMITS.attributes}`)
  .refine(
    (a) => Buffer.byteLength(JSON.stringify(a)) <= LIMITS.attributesBytes,
    `at most ${LIMITS.attributesBytes} bytes in all`,
  );

export const recordSchema = z.strictObject({
  name: z.string().min(1).max(MAX_NAME_LENGTH),
  kind: z.enum(KINDS),
  /** The key that signs this record: the user's own, or the device's (see delegation). */
  key: publicKey,
  delegation: delegationSchema.optional(),
  addresses: z.array(addressSchema).max(LIMITS.addresses),
  /** The UDP control socket of the host (session RECONNECT datagrams). */
  control: z.strictObject({ ip, port }).optional(),
  relays: z.array(z.strictObject({ host, port })).max(LIMITS.relays),
  attributes,
  version: integer,
  expiresAt: integer,
  /** A tombstone: the name was deleted at this version; older versions stay refused. */
  deleted: z.literal(true).optional(),
  signature,
});

export type NameRecord = z.infer<typeof recordSchema>;
export type Address = z.infer<typeof addressSchema>;
export type Delegation = z.infer<typeof delegationSchema>;
export type UnsignedRecord = Omit<NameRecord, 'signature'>;

function describe(error: z.ZodError, what: string): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${[what, ...i.path.map(String)].join('.')}: ${i.message}`)
    .join('; ');
}

/** Validates shape and bounds (not the signature: see verify.ts). */
export function parseRecord(data: unknown, what = 'record'): NameRecord {
  const parsed = recordSchema.safeParse(data);
  if (!parsed.success) throw namesError('ROAM_NAMES_INVALID', describe(parsed.error, what));
  const record = parsed.data;
  if (Buffer.byteLength(canonicalJson(record)) > LIMITS.recordBytes)
    throw namesError('ROAM_NAMES_INVALID', `${what}: larger than ${LIMITS.recordBytes} bytes`);
  if (record.deleted && (record.addresses.length || record.relays.length || record.control))
    throw namesError('ROAM_NAMES_INVALID', `${what}: a deletion carries no addresses or relays`);
  return record;
}

export function parseWith<T>(schema: z.ZodType<T>, data: unknown, what: string): T {
  const parsed = schema.safeParse(data);
  if (!parsed.success) throw namesError('ROAM_NAMES_INVALID', describe(parsed.error, what));
  return parsed.data;
}

/** What a record's signature covers: a domain tag, then the canonical JSON of every field. */
export function recordSigningInput(record: UnsignedRecord | NameRecord): string {
  const { signature: _ignored, ...unsigned } = record as NameRecord;
  return `roam-names/record/v1\n${canonicalJson(unsigned)}`;
}

export function delegationSigningInput(name: string, key: string, issued: number): string {
  return `roam-names/delegation/v1\n${canonicalJson({ name, key, issued })}`;
}

export function heartbeatSigningInput(name: string, at: number): string {
  return `roam-names/heartbeat/v1\n${canonicalJson({ name, at })}`;
}
