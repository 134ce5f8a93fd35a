import {
  createHmac,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';

/**
 * The per-session secret: both ends contribute an X25519 key share in the first exchange,
 * so a passive observer of the handshake does not learn it; every later attach (resume,
 * new path) and every RECONNECT proves knowledge of it with an HMAC over fresh values.
 * (An active man in the middle of the first exchange is out of scope without TLS.)
 */

// DER prefix of an X25519 SubjectPublicKeyInfo; the raw 32-byte key follows it.
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

export interface KeyShare {
  publicKey: Buffer;
  privateKey: KeyObject;
}

export function newKeyShare(): KeyShare {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return { publicKey: Buffer.from(der.subarray(der.length - 32)), privateKey };
}

export function deriveSecret(
  own: KeyShare,
  peerPublic: Buffer,
  connId: Buffer,
  clientNonce: Buffer,
  serverNonce: Buffer,
): Buffer {
  const peer = createPublicKey({
    key: Buffer.concat([X25519_SPKI_PREFIX, peerPublic]),
    format: 'der',
    type: 'spki',
  });
  const shared = diffieHellman({ privateKey: own.privateKey, publicKey: peer });
  const info = Buffer.concat([Buffer.from('roam session v1'), clientNonce, serverNonce]);
  return Buffer.from(hkdfSync('sha256', shared, connId, info, 32));
}

export function hmac(secret: Buffer, input: Buffer): Buffer {
  return createHmac('sha256', secret).update(input).digest();
}

export function proofMatches(secret: Buffer, input: Buffer, proof: Buffer): boolean {
  const expected = hmac(secret, input);
  return proof.length === expected.length && timingSafeEqual(proof, expected);
}

export function nonce(): Buffer {
  return randomBytes(16);
}
