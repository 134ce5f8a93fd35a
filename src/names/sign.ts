import { type KeyPair, signBytes } from './keys.js';
import {
  type Delegation,
  delegationSigningInput,
  heartbeatSigningInput,
  type NameRecord,
  recordSigningInput,
  type UnsignedRecord,
} from './record.js';

/** Signs a record with its key. `fields.key` must be `pair.publicKey` (checked: a clear error early). */
export function signRecord(fields: UnsignedRecord, pair: KeyPair): NameRecord {
  if (fields.key !== pair.publicKey)
    throw new TypeError(`signRecord: record key ${fields.key} is not the signer's key`);
  return { ...fields, signature: signBytes(pair, recordSigningInput(fields)) };
}

/**
 * The user's certificate for a device (or service) key: "the key `deviceKey` may publish
 * `name`", issued at `issued` (ms). A newer delegation replaces an older one, which is how a
 * user re-keys a lost device: the old key's delegation is then refused.
 */
export function makeDelegation(
  user: KeyPair,
  name: string,
  deviceKey: string,
  issued: number,
): Delegation {
  return {
    key: user.publicKey,
    issued,
    signature: signBytes(user, delegationSigningInput(name, deviceKey, issued)),
  };
}

export interface Heartbeat {
  name: string;
  /** The sender's clock (ms since the epoch); strictly increasing per name. */
  at: number;
  signature: string;
}

export function signHeartbeat(name: string, at: number, pair: KeyPair): Heartbeat {
  return { name, at, signature: signBytes(pair, heartbeatSigningInput(name, at)) };
}
