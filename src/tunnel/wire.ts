/**
 * The tunnel's datagrams (docs/tunnel.md#wire-format). Pure: layouts, encode and decode;
 * crypto lives in noise.ts and data-seal.ts, I/O in the native data path. Little-endian, as
 * WireGuard. The native data path (native/tunnel.c) parses the same layouts.
 *
 *   initiation (132 B): type=1 | 3 zero | sender u32 | ephemeral 32 | static 32+16 |
 *                       timestamp 12+16 | mac1 16
 *   response    (76 B): type=2 | 3 zero | sender u32 | receiver u32 | ephemeral 32 |
 *                       empty 0+16 | mac1 16
 *   data      (>=44 B): type=4 | path u8 | 2 zero | receiver u32 | counter u64 |
 *                       AEAD(inner header 12 | IP packet) + tag 16; the 16-byte header is AAD
 *   inner header (12 B): kind u8 | flags u8 | probe id u16 | sequence u64
 */
export const TYPE_INITIATION = 1;
export const TYPE_RESPONSE = 2;
export const TYPE_DATA = 4;

export const KEY_LEN = 32;
export const TAG_LEN = 16;
export const MAC_LEN = 16;
export const TIMESTAMP_LEN = 12;
export const INITIATION_LEN = 132;
export const RESPONSE_LEN = 76;
export const DATA_HEADER_LEN = 16;
export const INNER_HEADER_LEN = 12;
export const DATA_MIN_LEN = DATA_HEADER_LEN + INNER_HEADER_LEN + TAG_LEN;
/** Bytes a data datagram adds to an IP packet, not counting the outer IP and UDP headers. */
export const DATA_OVERHEAD = DATA_MIN_LEN;
/** Largest inner IP packet carried (the tun MTU can never exceed it). */
export const MAX_INNER_PACKET = 65535 - 48 - DATA_OVERHEAD;
export const MAX_PATHS = 8;

/** What an inner packet is: an IP packet, or one of the tunnel's own messages. */
export const INNER_KINDS = {
  ip: 0,
  /** A control message for TypeScript (mode changes), see control-message.ts. */
  control: 1,
  keepalive: 2,
  probeReply: 3,
  probeAck: 4,
} as const;
export type InnerKind = keyof typeof INNER_KINDS;
/** Flags bit: the sender asks for a probe reply on this path (piggy-backed probe). */
export const FLAG_PROBE = 0x01;

export const MAC1_OFFSET_INITIATION = INITIATION_LEN - MAC_LEN;
export const MAC1_OFFSET_RESPONSE = RESPONSE_LEN - MAC_LEN;

export interface Initiation {
  sender: number;
  ephemeral: Buffer;
  encryptedStatic: Buffer;
  encryptedTimestamp: Buffer;
  mac1: Buffer;
}

export interface Response {
  sender: number;
  receiver: number;
  ephemeral: Buffer;
  encryptedEmpty: Buffer;
  mac1: Buffer;
}

export interface DataHeader {
  path: number;
  receiver: number;
  counter: bigint;
}

export interface InnerHeader {
  kind: number;
  flags: number;
  probeId: number;
  sequence: bigint;
}

/** Why a datagram was refused before any crypto (counted by the caller). */
export type Malformed = { malformed: string };

function fixedLength(b: Buffer, len: number, what: string): Malformed | undefined {
  if (b.length !== len) return { malformed: `${what} is ${b.length} bytes, not ${len}` };
  if (b[1] !== 0 || b[2] !== 0 || b[3] !== 0) return { malformed: `${what}: reserved bytes set` };
  return undefined;
}

export function encodeInitiation(m: Initiation): Buffer {
  const b = Buffer.alloc(INITIATION_LEN);
  b[0] = TYPE_INITIATION;
  b.writeUInt32LE(m.sender, 4);
  copyExact(m.ephemeral, b, 8, KEY_LEN, 'ephemeral');
  copyExact(m.encryptedStatic, b, 40, KEY_LEN + TAG_LEN, 'encryptedStatic');
  copyExact(m.encryptedTimestamp, b, 88, TIMESTAMP_LEN + TAG_LEN, 'encryptedTimestamp');
  copyExact(m.mac1, b, MAC1_OFFSET_INITIATION, MAC_LEN, 'mac1');
  return b;
}

export function decodeInitiation(b: Buffer): Initiation | Malformed {
  const bad = fixedLength(b, INITIATION_LEN, 'initiation');
  if (bad) return bad;
  if (b[0] !== TYPE_INITIATION) return { malformed: `type ${b[0]} is not an initiation` };
  return {
    sender: b.readUInt32LE(4),
    ephemeral: b.subarray(8, 40),
    encryptedStatic: b.subarray(40, 88),
    encryptedTimestamp: b.subarray(88, 116),
    mac1: b.subarray(116, 132),
  };
}

export function encodeResponse(m: Response): Buffer {
  const b = Buffer.alloc(RESPONSE_LEN);
  b[0] = TYPE_RESPONSE;
  b.writeUInt32LE(m.sender, 4);
  b.writeUInt32LE(m.receiver, 8);
  copyExact(m.ephemeral, b, 12, KEY_LEN, 'ephemeral');
  copyExact(m.encryptedEmpty, b, 44, TAG_LEN, 'encryptedEmpty');
  copyExact(m.mac1, b, MAC1_OFFSET_RESPONSE, MAC_LEN, 'mac1');
  return b;
}

export function decodeResponse(b: Buffer): Response | Malformed {
  const bad = fixedLength(b, RESPONSE_LEN, 'response');
  if (bad) return bad;
  if (b[0] !== TYPE_RESPONSE) return { malformed: `type ${b[0]} is not a response` };
  return {
    sender: b.readUInt32LE(4),
    receiver: b.readUInt32LE(8),
    ephemeral: b.subarray(12, 44),
    encryptedEmpty: b.subarray(44, 60),
    mac1: b.subarray(60, 76),
  };
}

export function encodeDataHeader(h: DataHeader): Buffer {
  if (!Number.isInteger(h.path) || h.path < 0 || h.path >= MAX_PATHS) {
    throw new RangeError(`path ${h.path} is not in 0..${MAX_PATHS - 1}`);
  }
  const b = Buffer.alloc(DATA_HEADER_LEN);
  b[0] = TYPE_DATA;
  b[1] = h.path;
  b.writeUInt32LE(h.receiver, 4);
  b.writeBigUInt64LE(h.counter, 8);
  return b;
}

export function decodeDataHeader(b: Buffer): DataHeader | Malformed {
  if (b.length < DATA_MIN_LEN) return { malformed: `data datagram of ${b.length} bytes` };
  if (b.length > 65535) return { malformed: 'datagram over 65535 bytes' };
  if (b[0] !== TYPE_DATA) return { malformed: `type ${b[0]} is not data` };
  const path = b[1] ?? 0;
  if (path >= MAX_PATHS) return { malformed: `path ${path} out of range` };
  if (b[2] !== 0 || b[3] !== 0) return { malformed: 'data: reserved bytes set' };
  return { path, receiver: b.readUInt32LE(4), counter: b.readBigUInt64LE(8) };
}

export function encodeInnerHeader(h: InnerHeader): Buffer {
  const b = Buffer.alloc(INNER_HEADER_LEN);
  b[0] = h.kind;
  b[1] = h.flags;
  b.writeUInt16LE(h.probeId, 2);
  b.writeBigUInt64LE(h.sequence, 4);
  return b;
}

export function decodeInnerHeader(b: Buffer): InnerHeader | Malformed {
  if (b.length < INNER_HEADER_LEN) return { malformed: `inner packet of ${b.length} bytes` };
  const kind = b[0] ?? 0;
  if (kind > INNER_KINDS.probeAck) return { malformed: `inner kind ${kind}` };
  return {
    kind,
    flags: b[1] ?? 0,
    probeId: b.readUInt16LE(2),
    sequence: b.readBigUInt64LE(4),
  };
}

/** The message type of a datagram, or undefined for one that is none of ours. */
export function datagramType(b: Buffer): number | undefined {
  const t = b[0];
  return t === TYPE_INITIATION || t === TYPE_RESPONSE || t === TYPE_DATA ? t : undefined;
}

export function isMalformed(x: object): x is Malformed {
  return 'malformed' in x;
}

function copyExact(src: Buffer, dst: Buffer, at: number, len: number, what: string): void {
  if (src.length !== len) throw new RangeError(`${what} must be ${len} bytes, got ${src.length}`);
  src.copy(dst, at);
}
