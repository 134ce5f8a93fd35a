import { z } from 'zod';
import { SIGNATURE_RE } from './keys.js';
import { MAX_NAME_LENGTH } from './name.js';
import type { NameRecord } from './record.js';

/** The bodies of the HTTP API (docs/names-api.md), shared by the server and the client. */
export interface WriteResult {
  name: string;
  version: number;
  /** The store revision of the write: watch events carry the same number. */
  revision: number;
}

export interface LookupResult {
  record: NameRecord;
  /** For a device or child service: the user's record, whose key signed the delegation. */
  owner?: NameRecord;
  revision: number;
}

export interface DeviceState {
  name: string;
  online: boolean;
  /** Server time (ms) of the last heartbeat this server accepted, or null. */
  lastSeen: number | null;
  expired: boolean;
  record: NameRecord;
}

export const heartbeatSchema = z.strictObject({
  name: z.string().min(1).max(MAX_NAME_LENGTH),
  at: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  signature: z.string().regex(SIGNATURE_RE, 'must be a base64url Ed25519 signature'),
});

/** A watch event: `put` (a new version) or `delete` (a tombstone), with the signed record. */
export interface WatchEventData {
  revision: number;
  name: string;
  record: NameRecord;
}

/** SSE ids are `<store id>.<revision>`: a store with another history never resumes one. */
export function formatEventId(storeId: string, revision: number): string {
  return `${storeId}.${revision}`;
}

export function parseEventId(
  id: string | undefined,
): { storeId: string; revision: number } | undefined {
  if (!id) return undefined;
  const m = /^([A-Za-z0-9-]{1,64})\.(\d{1,16})$/.exec(id);
  if (!m?.[1] || !m[2]) return undefined;
  const revision = Number(m[2]);
  return Number.isSafeInteger(revision) ? { storeId: m[1], revision } : undefined;
}
