import type { NamesClock } from '../clock.js';
import { namesError } from '../codes.js';
import { verifyBytes } from '../keys.js';
import { parseName } from '../name.js';
import { type NameRecord, recordSigningInput } from '../record.js';
import { verifyRecord } from '../verify.js';
import type { VersionCache } from './cache.js';

/**
 * What the client believes, and why: a record is trusted only if it verifies (verify.ts)
 * against the newest version already trusted for its name, so a user's key is fixed at
 * first sight (or by a pin), and a device record only if the user's key certified the
 * device key. Anything else is ROAM_NAMES_UNTRUSTED: the server (or the path to it) lied.
 */
export class Trust {
  constructor(
    private readonly cache: VersionCache,
    private readonly clock: NamesClock,
    private readonly pins: ReadonlyMap<string, string>,
    private readonly fetchOwner: (user: string) => Promise<NameRecord>,
  ) {}

  /** The newest trusted record of `name` given what the server sent, and whether it is new. */
  async accept(
    name: string,
    record: NameRecord,
    owner?: NameRecord,
  ): Promise<{ record: NameRecord; fresh: boolean }> {
    const now = this.clock.now();
    if (record.name !== name) throw untrusted(name, `the server sent a record for ${record.name}`);
    const cached = this.cache.get(name)?.record;
    if (cached && record.version <= cached.version) {
      this.cache.touch(name, now);
      return { record: cached, fresh: false };
    }
    const parsed = parseName(name);
    const ownerRecord = parsed.form === 'child' ? await this.owner(parsed.user, owner) : undefined;
    try {
      verifyRecord(record, { now, current: cached, owner: ownerRecord });
    } catch (err) {
      throw untrusted(name, (err as Error).message, err);
    }
    const pin = this.pins.get(parsed.form === 'child' ? parsed.user : name);
    const signer = parsed.form === 'child' ? record.delegation?.key : record.key;
    if (pin !== undefined && signer !== pin)
      throw untrusted(name, `it is not signed by the pinned key ${pin}`);
    this.cache.offer(record, now);
    return { record, fresh: true };
  }

  /**
   * The user's record, for its key: from the cache, the server's `owner` field or a lookup.
   * Expiry does not matter here (a user's key is bound for good); the binding does.
   */
  private async owner(user: string, provided: NameRecord | undefined): Promise<NameRecord> {
    const cached = this.cache.get(user)?.record;
    if (!provided || (cached && provided.version <= cached.version))
      return cached ?? (await this.fetchOwner(user));
    const pin = this.pins.get(user) ?? cached?.key;
    if (provided.name !== user || provided.kind !== 'user')
      throw untrusted(user, `the server sent ${provided.name} as its owner record`);
    if (pin !== undefined && provided.key !== pin) throw untrusted(user, 'its key changed');
    if (!verifyBytes(provided.key, recordSigningInput(provided), provided.signature))
      throw untrusted(user, 'the owner record does not verify');
    this.cache.offer(provided, this.clock.now());
    return provided;
  }
}

function untrusted(name: string, why: string, cause?: unknown) {
  return namesError(
    'ROAM_NAMES_UNTRUSTED',
    `refusing what the name server said about ${name}: ${why}`,
    { cause },
  );
}
