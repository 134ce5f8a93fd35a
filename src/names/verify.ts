import { namesError } from './codes.js';
import { verifyBytes } from './keys.js';
import { parseName } from './name.js';
import { delegationSigningInput, type NameRecord, recordSigningInput } from './record.js';

/**
 * Whether a record may replace what is known of its name. Pure (time is passed in), and the
 * same function runs on the server before it stores and on the client before it trusts.
 *
 * Authority:
 *   user, bare service   the first key that registered the name; nobody else, ever
 *   device, child service  a key the user certified (record.delegation, signed by the key
 *                        of the user's record); a newer delegation replaces an older one
 *
 * Refused: a bad signature (tampered or signed by another key), a key that is not the
 * name's, a version not above the current one (replays, stale writers), an expired record.
 * Cheap checks run before signature checks, so garbage costs no public-key work.
 */
export interface VerifyContext {
  /** Wall-clock now, ms since the epoch. */
  now: number;
  /** What is stored (server) or cached (client) for this name: maybe a tombstone. */
  current?: NameRecord | undefined;
  /** For a device or child service: the record of its user. */
  owner?: NameRecord | undefined;
  /** Refuse expiries further than this from now (the server's policy). */
  maxTtlMs?: number | undefined;
}

export function verifyRecord(record: NameRecord, ctx: VerifyContext): void {
  const who = `${record.name} v${record.version}`;
  const parsed = parseName(record.name);
  const expectKinds =
    parsed.form === 'user'
      ? ['user']
      : parsed.form === 'bare'
        ? ['service']
        : ['device', 'service'];
  if (!expectKinds.includes(record.kind))
    throw namesError(
      'ROAM_NAMES_INVALID',
      `${record.name} must be of kind ${expectKinds.join(' or ')}, not ${record.kind}`,
    );
  if ((parsed.form === 'child') !== (record.delegation !== undefined))
    throw namesError(
      'ROAM_NAMES_INVALID',
      parsed.form === 'child'
        ? `${record.name} needs a delegation signed by the key of ${parsed.user}`
        : `${record.name} is not owned by a user: it carries no delegation`,
    );
  if (record.expiresAt <= ctx.now)
    throw namesError(
      'ROAM_NAMES_EXPIRED',
      `${who} expired at ${new Date(record.expiresAt).toISOString()}; sign it again with a later expiry`,
    );
  if (ctx.maxTtlMs !== undefined && record.expiresAt > ctx.now + ctx.maxTtlMs)
    throw namesError(
      'ROAM_NAMES_INVALID',
      `${who} expires more than ${ctx.maxTtlMs} ms from now; use a shorter lifetime`,
    );

  const current = ctx.current;
  if (current && record.version <= current.version)
    throw namesError(
      'ROAM_NAMES_STALE',
      `${who} is not newer than the current version ${current.version}; publish with a version above it`,
      { details: { currentVersion: current.version } },
    );

  if (parsed.form !== 'child') {
    if (current && current.key !== record.key)
      throw namesError(
        'ROAM_NAMES_WRONG_KEY',
        `${record.name} belongs to another key; only the key that registered it can change it`,
      );
  } else {
    checkDelegation(record, parsed.user, ctx);
  }
  if (!verifyBytes(record.key, recordSigningInput(record), record.signature))
    throw namesError(
      'ROAM_NAMES_BAD_SIGNATURE',
      `the signature of ${who} does not verify: the record was changed after signing, or signed by another key`,
    );
}

function checkDelegation(record: NameRecord, user: string, ctx: VerifyContext): void {
  const d = record.delegation;
  if (!d) return;
  const owner = ctx.owner;
  if (!owner || owner.deleted)
    throw namesError(
      'ROAM_NAMES_NO_OWNER',
      `user ${user} is not registered; register it before ${record.name}`,
    );
  if (owner.name !== user)
    throw namesError('ROAM_NAMES_INTERNAL', `owner record ${owner.name} is not ${user}`);
  if (d.key !== owner.key)
    throw namesError(
      'ROAM_NAMES_WRONG_KEY',
      `${record.name} is delegated by a key that is not ${user}'s; sign the delegation with the user's key`,
    );
  const current = ctx.current?.delegation;
  if (
    current &&
    (d.issued < current.issued || (d.issued === current.issued && record.key !== ctx.current?.key))
  )
    throw namesError(
      'ROAM_NAMES_WRONG_KEY',
      `${record.name}: this delegation was replaced by a newer one (issued ${current.issued}); the device key was changed`,
    );
  // The very delegation already verified for this key (what is stored or trusted): signed
  // over the same name, device key and time, so checking it again would say the same.
  const same =
    current?.signature === d.signature &&
    current.key === d.key &&
    current.issued === d.issued &&
    ctx.current?.key === record.key;
  if (
    !same &&
    !verifyBytes(d.key, delegationSigningInput(record.name, record.key, d.issued), d.signature)
  )
    throw namesError(
      'ROAM_NAMES_BAD_SIGNATURE',
      `the delegation of ${record.name} does not verify: it was not signed by ${user}'s key for this device key`,
    );
}
