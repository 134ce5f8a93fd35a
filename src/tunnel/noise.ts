import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  timingSafeEqual,
} from 'node:crypto';
import { RoamError } from '../errors.js';
import { dh, generateKeyPair, type KeyPair, mac1, mac1Key } from './keys.js';
import {
  decodeInitiation,
  decodeResponse,
  encodeInitiation,
  encodeResponse,
  isMalformed,
  MAC1_OFFSET_INITIATION,
  MAC1_OFFSET_RESPONSE,
  TAG_LEN,
  TIMESTAMP_LEN,
} from './wire.js';

/**
 * The handshake: Noise_IK_25519_ChaChaPoly_SHA256 (noiseprotocol.org, §7.5), WireGuard's
 * pattern without its pre-shared key and cookie, with SHA-256 for BLAKE2s. The initiator (the
 * mobile end) knows the responder's static key in advance; one round trip authenticates both
 * ends and gives forward-secret transport keys.
 *
 *   -> e, es, s, ss, {timestamp}    (initiation; the timestamp stops its replay)
 *   <- e, ee, se, {}                (response)
 *
 * Both carry mac1 = HMAC(HASH("mac1----" || receiver's static), message), which the native
 * data path checks before handing a handshake to TypeScript: junk costs one HMAC, no DH.
 */
const PROTOCOL = Buffer.from('Noise_IK_25519_ChaChaPoly_SHA256'); // exactly 32 bytes
const PROLOGUE = Buffer.from('roam tunnel v1');
const EMPTY = Buffer.alloc(0);

export const BAD_HANDSHAKE = 'ROAM_TUNNEL_HANDSHAKE';

/** The transport keys of one session: what the data path needs. */
export interface SessionKeys {
  localIndex: number;
  remoteIndex: number;
  sendKey: Buffer;
  receiveKey: Buffer;
}

const sha256 = (...parts: Buffer[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
const hmac = (key: Buffer, ...parts: Buffer[]): Buffer => {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return h.digest();
};

/** HKDF with two outputs, as Noise defines it. */
function hkdf2(chainingKey: Buffer, ikm: Buffer): [Buffer, Buffer] {
  const temp = hmac(chainingKey, ikm);
  const out1 = hmac(temp, Buffer.from([1]));
  return [out1, hmac(temp, out1, Buffer.from([2]))];
}

export function nonce(counter: bigint): Buffer {
  const n = Buffer.alloc(12);
  n.writeBigUInt64LE(counter, 4);
  return n;
}

export function aeadSeal(key: Buffer, counter: bigint, ad: Buffer, plaintext: Buffer): Buffer {
  const c = createCipheriv('chacha20-poly1305', key, nonce(counter), { authTagLength: TAG_LEN });
  c.setAAD(ad, { plaintextLength: plaintext.length });
  return Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
}

/** The plaintext, or undefined when the tag does not verify. */
export function aeadOpen(
  key: Buffer,
  counter: bigint,
  ad: Buffer,
  sealed: Buffer,
): Buffer | undefined {
  if (sealed.length < TAG_LEN) return undefined;
  const body = sealed.subarray(0, sealed.length - TAG_LEN);
  const d = createDecipheriv('chacha20-poly1305', key, nonce(counter), { authTagLength: TAG_LEN });
  d.setAAD(ad, { plaintextLength: body.length });
  d.setAuthTag(sealed.subarray(sealed.length - TAG_LEN));
  try {
    return Buffer.concat([d.update(body), d.final()]);
  } catch {
    return undefined;
  }
}

/** Noise's SymmetricState. */
class Symmetric {
  ck: Buffer;
  h: Buffer;
  k: Buffer | undefined;
  n = 0n;

  constructor(responderStatic: Buffer) {
    this.ck = Buffer.from(PROTOCOL);
    this.h = Buffer.from(PROTOCOL);
    this.mixHash(PROLOGUE);
    this.mixHash(responderStatic);
  }

  mixHash(data: Buffer): void {
    this.h = sha256(this.h, data);
  }

  mixKey(ikm: Buffer): void {
    [this.ck, this.k] = hkdf2(this.ck, ikm);
    this.n = 0n;
  }

  encryptAndHash(plaintext: Buffer): Buffer {
    if (!this.k) throw new Error('encryptAndHash before a key');
    const ct = aeadSeal(this.k, this.n++, this.h, plaintext);
    this.mixHash(ct);
    return ct;
  }

  decryptAndHash(ciphertext: Buffer, what: string): Buffer {
    if (!this.k) throw new Error('decryptAndHash before a key');
    const pt = aeadOpen(this.k, this.n++, this.h, ciphertext);
    if (pt === undefined) throw new RoamError(BAD_HANDSHAKE, `${what} does not authenticate`);
    this.mixHash(ciphertext);
    return pt;
  }

  split(): [Buffer, Buffer] {
    return hkdf2(this.ck, EMPTY);
  }
}

function checkMac1(message: Buffer, offset: number, receiverPublic: Buffer, what: string): void {
  const want = mac1(mac1Key(receiverPublic), message.subarray(0, offset));
  if (!timingSafeEqual(want, message.subarray(offset, offset + want.length))) {
    throw new RoamError(BAD_HANDSHAKE, `${what}: bad mac1`);
  }
}

/** TAI64N of `ms` since the epoch: 8 bytes of seconds + 2^62, 4 of nanoseconds, big-endian. */
export function tai64n(ms: number): Buffer {
  const b = Buffer.alloc(TIMESTAMP_LEN);
  b.writeBigUInt64BE((1n << 62n) + BigInt(Math.floor(ms / 1000)), 0);
  b.writeUInt32BE(Math.floor((ms % 1000) * 1e6), 8);
  return b;
}

export interface InitiatorHandshake {
  readonly message: Buffer;
  /** Completes the handshake with the responder's reply; throws ROAM_TUNNEL_HANDSHAKE. */
  consumeResponse(response: Buffer): SessionKeys;
}

export function initiate(opts: {
  local: KeyPair;
  remotePublic: Buffer;
  senderIndex: number;
  nowMs: number;
  ephemeral?: KeyPair;
}): InitiatorHandshake {
  const { local, remotePublic, senderIndex } = opts;
  const e = opts.ephemeral ?? generateKeyPair();
  const s = new Symmetric(remotePublic);
  s.mixHash(e.publicKey);
  s.mixKey(dh(e.privateKey, remotePublic));
  const encryptedStatic = s.encryptAndHash(local.publicKey);
  s.mixKey(dh(local.privateKey, remotePublic));
  const encryptedTimestamp = s.encryptAndHash(tai64n(opts.nowMs));
  const unsigned = encodeInitiation({
    sender: senderIndex,
    ephemeral: e.publicKey,
    encryptedStatic,
    encryptedTimestamp,
    mac1: Buffer.alloc(16),
  });
  mac1(mac1Key(remotePublic), unsigned.subarray(0, MAC1_OFFSET_INITIATION)).copy(
    unsigned,
    MAC1_OFFSET_INITIATION,
  );
  let used = false;
  return {
    message: unsigned,
    consumeResponse(response: Buffer): SessionKeys {
      if (used) throw new RoamError(BAD_HANDSHAKE, 'this handshake is already complete');
      const r = decodeResponse(response);
      if (isMalformed(r)) throw new RoamError(BAD_HANDSHAKE, r.malformed);
      if (r.receiver !== senderIndex) {
        throw new RoamError(BAD_HANDSHAKE, 'response for another handshake');
      }
      checkMac1(response, MAC1_OFFSET_RESPONSE, local.publicKey, 'response');
      const t = cloneSymmetric(s);
      t.mixHash(r.ephemeral);
      t.mixKey(dh(e.privateKey, r.ephemeral));
      t.mixKey(dh(local.privateKey, r.ephemeral));
      t.decryptAndHash(r.encryptedEmpty, 'response');
      used = true;
      const [sendKey, receiveKey] = t.split();
      return { localIndex: senderIndex, remoteIndex: r.sender, sendKey, receiveKey };
    },
  };
}

export interface ResponderHandshake {
  /** The initiator's static public key: the caller checks it is a known peer. */
  readonly initiatorPublic: Buffer;
  readonly timestamp: Buffer;
  readonly initiatorIndex: number;
  respond(senderIndex: number, ephemeral?: KeyPair): { message: Buffer; keys: SessionKeys };
}

/** Reads an initiation addressed to `local`; throws ROAM_TUNNEL_HANDSHAKE if it is not one. */
export function acceptInitiation(local: KeyPair, message: Buffer): ResponderHandshake {
  const m = decodeInitiation(message);
  if (isMalformed(m)) throw new RoamError(BAD_HANDSHAKE, m.malformed);
  checkMac1(message, MAC1_OFFSET_INITIATION, local.publicKey, 'initiation');
  const s = new Symmetric(local.publicKey);
  s.mixHash(m.ephemeral);
  s.mixKey(dh(local.privateKey, m.ephemeral));
  const initiatorPublic = s.decryptAndHash(m.encryptedStatic, 'initiation static key');
  s.mixKey(dh(local.privateKey, initiatorPublic));
  const timestamp = s.decryptAndHash(m.encryptedTimestamp, 'initiation timestamp');
  let used = false;
  return {
    initiatorPublic,
    timestamp,
    initiatorIndex: m.sender,
    respond(senderIndex: number, ephemeral?: KeyPair) {
      if (used) throw new RoamError(BAD_HANDSHAKE, 'already responded');
      used = true;
      const e = ephemeral ?? generateKeyPair();
      s.mixHash(e.publicKey);
      s.mixKey(dh(e.privateKey, m.ephemeral));
      s.mixKey(dh(e.privateKey, initiatorPublic));
      const encryptedEmpty = s.encryptAndHash(EMPTY);
      const msg = encodeResponse({
        sender: senderIndex,
        receiver: m.sender,
        ephemeral: e.publicKey,
        encryptedEmpty,
        mac1: Buffer.alloc(16),
      });
      mac1(mac1Key(initiatorPublic), msg.subarray(0, MAC1_OFFSET_RESPONSE)).copy(
        msg,
        MAC1_OFFSET_RESPONSE,
      );
      const [receiveKey, sendKey] = s.split();
      return {
        message: msg,
        keys: { localIndex: senderIndex, remoteIndex: m.sender, sendKey, receiveKey },
      };
    },
  };
}

function cloneSymmetric(s: Symmetric): Symmetric {
  const t = Object.create(Symmetric.prototype) as Symmetric;
  t.ck = s.ck;
  t.h = s.h;
  t.k = s.k;
  t.n = s.n;
  return t;
}
