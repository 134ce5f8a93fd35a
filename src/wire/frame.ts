import { type Addr } from './address.js';

/**
 * Frames of the roam session protocol, version 2 (docs/protocol.md). Every frame on a
 * flowpath is
 *
 *   type u8 | flags u8 | body length u32 | body
 *
 * all integers big-endian; u48 fields are 6 bytes. This file holds the constants and the
 * decoded shapes; encode.ts writes them, parse.ts and decoder.ts read them.
 */

/**
 * Version 2 adds multipath: PATH_ACK and ADDRESSES frames and the HELLO mode "add".
 * Control datagrams did not change and keep their own version, CONTROL_VERSION (1).
 */
export const PROTOCOL_VERSION = 2;
/** First 4 bytes of every HELLO body: "ROAM". */
export const HELLO_MAGIC = Buffer.from('ROAM', 'latin1');

export const FrameType = {
  HELLO: 0x01,
  WELCOME: 0x02,
  DATA: 0x03,
  ACK: 0x04,
  PING: 0x05,
  PONG: 0x06,
  ERROR: 0x07,
  PATH_ACK: 0x08,
  ADDRESSES: 0x09,
  PATH_STATUS: 0x0a,
  COOKIE: 0x0b,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** DATA flags bit 0: the end of this direction's stream; FIN takes one sequence number. */
export const FLAG_FIN = 0x01;
/**
 * HELLO flags bit 0, mode new only: the client will open more flowpaths to this session
 * (it has several local addresses), so the server paces the first one as if they were there.
 */
export const FLAG_MULTIPATH = 0x01;

export const HEADER_LENGTH = 6;
/** Largest DATA payload: 1 MiB. */
export const MAX_PAYLOAD = 1024 * 1024;
/** seq u48 | ack u48 | window u32, before the payload. */
export const DATA_FIXED_LENGTH = 16;
export const MAX_DATA_BODY = MAX_PAYLOAD + DATA_FIXED_LENGTH;
/** Limit on the body of every type but DATA. */
export const MAX_CONTROL_BODY = 1024;
/** Largest ERROR reason, in UTF-8 bytes. */
export const MAX_ERROR_REASON = 512;

export const HELLO_LENGTH = 137;
export const WELCOME_LENGTH = 127;
export const ACK_LENGTH = 10;
export const PING_LENGTH = 4;
export const ERROR_FIXED_LENGTH = 2;
export const PATH_ACK_LENGTH = 16;
export const PATH_STATUS_LENGTH = 8;
/** COOKIE body: the cookie itself (docs/protocol.md, "Admission under load"). */
export const COOKIE_LENGTH = 32;
/** Most addresses one ADDRESSES frame carries. */
export const MAX_ADDRESSES = 16;

/**
 * Early data: bytes of the client's stream it may send after HELLO mode new and before
 * WELCOME (sequence numbers 0 .. INITIAL_WINDOW - 1, plus a FIN right after them). Every
 * server takes at least this much (its input buffer is never smaller).
 */
export const INITIAL_WINDOW = 64 * 1024;

/**
 * HELLO mode byte: 0 opens a new session; 1 attaches a flowpath to an existing session that
 * has no other flowpath left at the client (a resume: the server drops any it still holds);
 * 2 adds a flowpath next to the live ones (version 2).
 */
export const HelloMode = { new: 0, attach: 1, add: 2 } as const;
export type HelloMode = keyof typeof HelloMode;

export interface HelloFrame {
  type: 'hello';
  mode: HelloMode;
  pathId: number;
  /** 16 bytes. */
  connId: Buffer;
  /** 16 bytes. */
  nonce: Buffer;
  /** X25519 public key, 32 bytes; zeros in attach mode. */
  keyShare: Buffer;
  /** Attach counter, strictly increasing per session; 0 in new mode. */
  counter: number;
  /** Bytes of the server's stream received so far (u48). */
  received: number;
  /** The client's receive buffer, bytes. */
  recvWindow: number;
  /** The client's UDP control socket, for server mobility; null when it has none. */
  controlAddr: Addr | null;
  /** Mode new: more flowpaths will follow (flags bit 0, FLAG_MULTIPATH). Absent: false. */
  multipath?: boolean;
  /** 32 bytes; zeros in new mode. */
  proof: Buffer;
}

export interface WelcomeFrame {
  type: 'welcome';
  pathId: number;
  connId: Buffer;
  nonce: Buffer;
  keyShare: Buffer;
  /** Bytes of the client's stream received so far (u48). */
  received: number;
  recvWindow: number;
  /** The server's UDP control socket; null when it has none. */
  controlAddr: Addr | null;
  proof: Buffer;
}

export interface DataFrame {
  type: 'data';
  /** Sequence number of the first payload byte (of the FIN when the payload is empty). */
  seq: number;
  /** Cumulative: the next sequence number expected from the peer. */
  ack: number;
  /** Receive window: bytes past `ack` the sender of this frame will accept. */
  window: number;
  fin: boolean;
  /**
   * Decoded: a view of the input chunk when the frame lay within one chunk, else of a buffer
   * of its own. Copy it before keeping it if the input buffer is reused.
   */
  payload: Buffer;
  /**
   * Decoding only: a DATA frame that spans socket reads is emitted piece by piece as its
   * bytes arrive; every piece but the last has `more: true` (the next piece continues at
   * seq + payload.length, and only the last can carry FIN). Never encoded.
   */
  more?: true;
}

export interface AckFrame {
  type: 'ack';
  ack: number;
  window: number;
}

export interface PingFrame {
  type: 'ping';
  id: number;
}

export interface PongFrame {
  type: 'pong';
  id: number;
}

export interface ErrorFrame {
  type: 'error';
  /** One of ErrorCode, or a code this version does not know. */
  code: number;
  /** At most 512 UTF-8 bytes; invalid UTF-8 decodes with U+FFFD replacements. */
  reason: string;
}

/**
 * Version 2. A cumulative acknowledgment like ACK, plus what the multipath scheduler needs:
 * how many bytes of DATA arrived on the flowpath that carries this frame.
 */
export interface PathAckFrame {
  type: 'path-ack';
  ack: number;
  window: number;
  /** DATA payload bytes (plus one per FIN) received on this flowpath since it opened (u48). */
  pathReceived: number;
}

/** Version 2, server → client: further addresses where the server takes flowpaths. */
export interface AddressesFrame {
  type: 'addresses';
  /** 0..16 addresses, none of them "none". */
  addresses: Addr[];
}

/**
 * PATH_STATUS status byte: 0 active (use the path), 1 backup (use it only when the active
 * paths are down or cannot carry the demand), 2 removed (the sender of this frame abandoned
 * the path: what is in flight on it will not arrive).
 */
export const PathStatus = { active: 0, backup: 1, removed: 2 } as const;
export type PathStatus = keyof typeof PathStatus;

/**
 * Version 2, client → server, on any flowpath: the state of flowpath `pathId` as the client
 * sees it (MPTCP's REMOVE_ADDR and MP_PRIO in one frame).
 */
export interface PathStatusFrame {
  type: 'path-status';
  /** The flowpath this frame is about; not necessarily the one that carries it. */
  pathId: number;
  status: PathStatus;
  /**
   * Announcement counter (u8, wraps): the client sends each announcement on every open
   * flowpath, so copies arrive in any order; a receiver ignores a backup/active older than
   * the last it applied for the path (serial arithmetic mod 256).
   */
  seq: number;
  /** The client's cost for the path (u32, lower is cheaper); 0 when it has none. */
  cost: number;
}

/**
 * Admission under load (additive in version 2). Server → client, in answer to HELLO mode
 * new: "echo this before your HELLO". Client → server, on the same flowpath: the echo, right
 * before the same HELLO again. The cookie is opaque to the client (the server's MAC over the
 * client's address, a coarse time and the HELLO's connId half and nonce).
 */
export interface CookieFrame {
  type: 'cookie';
  /** 32 bytes. */
  cookie: Buffer;
}

export type Frame =
  | CookieFrame
  | HelloFrame
  | WelcomeFrame
  | DataFrame
  | AckFrame
  | PingFrame
  | PongFrame
  | ErrorFrame
  | PathAckFrame
  | AddressesFrame
  | PathStatusFrame;
