import { namesError } from '../../codes.js';

/**
 * Where a store keeps its data inside etcd, under one key prefix (pure, no I/O):
 *
 *   PREFIX meta             created once; its create_revision is the store's revision 0
 *   PREFIX last             rewritten by every write: its mod_revision is the last write
 *   PREFIX n/NAME           an entry (see encodeEntry)
 *   PREFIX o/OWNER/NAME     the same entry again, written in the same transaction: the owner
 *                           index, so listing an owner is one range read at one revision
 *   PREFIX p/SHARD/SERVER   soft presence: the devices of a shard online on one name server
 *                           (JSON { at, names }), rewritten in batches (presence-batch.ts)
 *
 * OWNER is percent-encoded (it never holds a "/"), so one owner's range never reaches into
 * another's.
 */
export class EtcdLayout {
  readonly meta: Buffer;
  readonly last: Buffer;
  private readonly names: string;
  private readonly owners: string;

  constructor(readonly prefix: string) {
    this.meta = Buffer.from(`${prefix}meta`);
    this.last = Buffer.from(`${prefix}last`);
    this.names = `${prefix}n/`;
    this.owners = `${prefix}o/`;
  }

  nameKey(name: string): Buffer {
    return Buffer.from(this.names + name);
  }

  ownerKey(owner: string, name: string): Buffer {
    return Buffer.from(`${this.owners}${encodeURIComponent(owner)}/${name}`);
  }

  /** [start, end) of every entry key, for the watch. */
  nameRange(): { key: Buffer; range_end: Buffer } {
    const key = Buffer.from(this.names);
    return { key, range_end: prefixEnd(key) };
  }

  /** [start, end) of one owner's index. */
  ownerRange(owner: string): { key: Buffer; range_end: Buffer } {
    const key = Buffer.from(`${this.owners}${encodeURIComponent(owner)}/`);
    return { key, range_end: prefixEnd(key) };
  }

  presenceKey(shard: number, server: string): Buffer {
    return Buffer.from(`${this.prefix}p/${shard}/${encodeURIComponent(server)}`);
  }

  /** [start, end) of every server's publication for one shard. */
  presenceRange(shard: number): { key: Buffer; range_end: Buffer } {
    const key = Buffer.from(`${this.prefix}p/${shard}/`);
    return { key, range_end: prefixEnd(key) };
  }

  /** The name of an entry key (undefined for a key outside the entries). */
  nameOf(key: Buffer): string | undefined {
    const text = key.toString('utf8');
    return text.startsWith(this.names) ? text.slice(this.names.length) : undefined;
  }
}

/** The first key after every key that starts with `key` (etcd's prefix range end). */
export function prefixEnd(key: Buffer): Buffer {
  const end = Buffer.from(key);
  for (let i = end.length - 1; i >= 0; i--) {
    const byte = end.readUInt8(i);
    if (byte < 0xff) {
      end.writeUInt8(byte + 1, i);
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]); // all 0xff: to the end of the keyspace
}

export const VERSION_DIGITS = 16;

/**
 * An entry as etcd holds it: the version in 16 zero-padded digits, a newline, the owner as a
 * JSON string, a newline, then the record. The fixed-width version first lets a transaction
 * compare "stored version < new version" as etcd's byte-wise `value < target` with target
 * the new padded version: a stored value that starts with the same digits is longer, so
 * greater, and the compare fails for an equal version too.
 */
export function encodeEntry(owner: string, version: number, value: string): Buffer {
  return Buffer.from(`${padVersion(version)}\n${JSON.stringify(owner)}\n${value}`);
}

export function padVersion(version: number): string {
  if (!Number.isSafeInteger(version) || version < 0)
    throw namesError('ROAM_NAMES_INVALID', `version ${version} is not a non-negative integer`);
  return String(version).padStart(VERSION_DIGITS, '0');
}

export function decodeEntry(bytes: Buffer): { owner: string; version: number; value: string } {
  const text = bytes.toString('utf8');
  const ownerEnd = text.indexOf('\n', VERSION_DIGITS + 1);
  if (text.charCodeAt(VERSION_DIGITS) !== 10 || ownerEnd < 0)
    throw namesError('ROAM_NAMES_DB', 'an entry in etcd is not in the roam names layout');
  return {
    version: Number(text.slice(0, VERSION_DIGITS)),
    owner: JSON.parse(text.slice(VERSION_DIGITS + 1, ownerEnd)) as string,
    value: text.slice(ownerEnd + 1),
  };
}
