import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { namesError } from './codes.js';

/**
 * Ed25519 identities. A public key travels as the base64url of its 32 raw bytes (43
 * characters, no padding); a signature as the base64url of its 64 bytes (86 characters).
 * A private key lives in a PKCS#8 PEM file (`roam names keygen`).
 */
export interface KeyPair {
  readonly publicKey: string;
  readonly privateKey: KeyObject;
}

export const PUBLIC_KEY_RE = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;
export const SIGNATURE_RE = /^[A-Za-z0-9_-]{85}[AQgw]$/;

export function generateKeyPair(): KeyPair {
  const { privateKey } = generateKeyPairSync('ed25519');
  return keyPairFromPrivate(privateKey);
}

export function keyPairFromPrivate(privateKey: KeyObject): KeyPair {
  if (privateKey.asymmetricKeyType !== 'ed25519')
    throw namesError('ROAM_NAMES_KEY_FILE', 'the key is not an Ed25519 private key');
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw namesError('ROAM_NAMES_KEY_FILE', 'no public part');
  return { publicKey: jwk.x, privateKey };
}

export function keyPairFromPem(pem: string): KeyPair {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw namesError(
      'ROAM_NAMES_KEY_FILE',
      'the key file is not a PEM private key; make one with `roam names keygen FILE`',
      { cause: err },
    );
  }
  return keyPairFromPrivate(key);
}

export function privateKeyPem(pair: KeyPair): string {
  return pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

function publicKeyObject(publicKey: string): KeyObject | undefined {
  if (!PUBLIC_KEY_RE.test(publicKey)) return undefined;
  try {
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: publicKey }, format: 'jwk' });
  } catch {
    return undefined;
  }
}

// Importing a key costs more than verifying with it; a cache keeps the keys of the devices
// that heartbeat to this server parsed (a KeyObject is a few hundred bytes).
const keyCache = new Map<string, KeyObject>();
const KEY_CACHE_MAX = 65_536; // a name server's share of devices heartbeating

function cachedPublicKey(publicKey: string): KeyObject | undefined {
  const hit = keyCache.get(publicKey);
  if (hit) return hit;
  const key = publicKeyObject(publicKey);
  if (!key) return undefined;
  if (keyCache.size >= KEY_CACHE_MAX) keyCache.clear();
  keyCache.set(publicKey, key);
  return key;
}

export function signBytes(pair: KeyPair, message: string): string {
  return sign(null, Buffer.from(message, 'utf8'), pair.privateKey).toString('base64url');
}

/** False for a malformed key or signature as well as for a signature that does not verify. */
export function verifyBytes(publicKey: string, message: string, signature: string): boolean {
  if (!SIGNATURE_RE.test(signature)) return false;
  const key = cachedPublicKey(publicKey);
  if (!key) return false;
  return verify(null, Buffer.from(message, 'utf8'), key, Buffer.from(signature, 'base64url'));
}
