import {
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { RoamError } from '../errors.js';
import { KEY_LEN, MAC_LEN } from './wire.js';

/** An X25519 static or ephemeral key pair as raw 32-byte strings (base64 in files). */
export interface KeyPair {
  privateKey: Buffer;
  publicKey: Buffer;
}

// DER prefixes of an X25519 PKCS#8 private key and SPKI public key (RFC 8410).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

export function generateKeyPair(): KeyPair {
  const { privateKey } = generateKeyPairSync('x25519');
  return keyPairFromPrivate(rawPrivate(privateKey));
}

export function keyPairFromPrivate(privateKey: Buffer): KeyPair {
  if (privateKey.length !== KEY_LEN) {
    throw new RoamError(
      'ROAM_TUNNEL_KEY',
      `an X25519 private key is 32 bytes, got ${privateKey.length}`,
    );
  }
  const pub = createPublicKey(privateObject(privateKey)).export({ format: 'der', type: 'spki' });
  return {
    privateKey: Buffer.from(privateKey),
    publicKey: Buffer.from(pub.subarray(SPKI_PREFIX.length)),
  };
}

/** X25519(private, public); refuses the all-zero result of a low-order public key. */
export function dh(privateKey: Buffer, publicKey: Buffer): Buffer {
  if (publicKey.length !== KEY_LEN) {
    throw new RoamError(
      'ROAM_TUNNEL_KEY',
      `an X25519 public key is 32 bytes, got ${publicKey.length}`,
    );
  }
  let shared: Buffer;
  try {
    shared = diffieHellman({
      privateKey: privateObject(privateKey),
      publicKey: createPublicKey({
        key: Buffer.concat([SPKI_PREFIX, publicKey]),
        format: 'der',
        type: 'spki',
      }),
    });
  } catch (err) {
    throw new RoamError('ROAM_TUNNEL_KEY', `X25519 failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (shared.every((x) => x === 0)) {
    throw new RoamError('ROAM_TUNNEL_KEY', 'X25519 gave zero: a low-order public key');
  }
  return shared;
}

/** Parses a base64 key as written by `roam tunnel keygen`. */
export function parseKey(text: string, what: string): Buffer {
  const t = text.trim();
  const b = /^[A-Za-z0-9+/]{43}=$/.test(t) ? Buffer.from(t, 'base64') : undefined;
  if (b === undefined || b.length !== KEY_LEN) {
    throw new RoamError(
      'ROAM_TUNNEL_KEY',
      `${what} is not a base64 X25519 key (44 characters, as roam tunnel keygen prints)`,
    );
  }
  return b;
}

export const formatKey = (key: Buffer): string => key.toString('base64');

/** The key of mac1: HASH("mac1----" || the receiver's static public key), as WireGuard. */
export function mac1Key(receiverPublic: Buffer): Buffer {
  return createHash('sha256').update('mac1----').update(receiverPublic).digest();
}

/** mac1 over the message before it: lets a receiver drop junk with one HMAC, no DH. */
export function mac1(key: Buffer, messageBeforeMac: Buffer): Buffer {
  return createHmac('sha256', key).update(messageBeforeMac).digest().subarray(0, MAC_LEN);
}

function privateObject(raw: Buffer): KeyObject {
  return createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX, raw]),
    format: 'der',
    type: 'pkcs8',
  });
}

function rawPrivate(key: KeyObject): Buffer {
  return Buffer.from(key.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_PREFIX.length));
}
