import { ADDR_LENGTH, readAddr } from './address.js';
import { malformed, WireError, WireErrorCode } from './errors.js';
import { isZero, KEY_LENGTH, PROOF_LENGTH, U48_MAX } from './fields.js';
import {
  ACK_LENGTH,
  COOKIE_LENGTH,
  DATA_FIXED_LENGTH,
  ERROR_FIXED_LENGTH,
  FLAG_FIN,
  FLAG_MULTIPATH,
  type Frame,
  FrameType,
  HELLO_LENGTH,
  HELLO_MAGIC,
  MAX_ADDRESSES,
  MAX_CONTROL_BODY,
  PATH_ACK_LENGTH,
  PATH_STATUS_LENGTH,
  MAX_ERROR_REASON,
  PING_LENGTH,
  PROTOCOL_VERSION,
  WELCOME_LENGTH,
} from './frame.js';

/**
 * The rules of one frame, split where the decoder needs them: checkHeader runs as soon as
 * the 6 header bytes are in, so a bad type, flag or length fails before any body is
 * buffered; parseBody turns a complete body into a Frame.
 */

/** Smallest HELLO body a decoder reads before it can tell magic and version. */
const HELLO_PREFIX = 5;

/** Throws WireError unless a frame with this header may follow. */
export function checkHeader(
  type: number,
  flags: number,
  length: number,
  maxDataBody: number,
): void {
  if (type === FrameType.DATA) {
    if ((flags & ~FLAG_FIN) !== 0) throw badFlags(type, flags);
    if (length > maxDataBody) throw tooLarge(type, length, maxDataBody);
    if (length < DATA_FIXED_LENGTH) throw badLength(type, length, `at least ${DATA_FIXED_LENGTH}`);
    return;
  }
  const fixed = FIXED_LENGTH[type];
  if (fixed === undefined) {
    throw new WireError(WireErrorCode.TYPE, `unknown frame type 0x${hex(type)}`);
  }
  const allowed = type === FrameType.HELLO ? FLAG_MULTIPATH : 0;
  if ((flags & ~allowed) !== 0) throw badFlags(type, flags);
  if (length > MAX_CONTROL_BODY) throw tooLarge(type, length, MAX_CONTROL_BODY);
  if (type === FrameType.HELLO) {
    // Length is checked after magic and version, so that a HELLO of another version (which
    // may be longer or shorter) is told apart and can be answered with ERROR VERSION.
    if (length < HELLO_PREFIX) throw badLength(type, length, `at least ${HELLO_PREFIX}`);
  } else if (type === FrameType.ERROR) {
    if (length < ERROR_FIXED_LENGTH || length > ERROR_FIXED_LENGTH + MAX_ERROR_REASON) {
      throw badLength(
        type,
        length,
        `${ERROR_FIXED_LENGTH}..${ERROR_FIXED_LENGTH + MAX_ERROR_REASON}`,
      );
    }
  } else if (type === FrameType.ADDRESSES) {
    const n = (length - 1) / ADDR_LENGTH;
    if (!Number.isInteger(n) || n < 0 || n > MAX_ADDRESSES)
      throw badLength(type, length, `1 + 19 × n with n in 0..${MAX_ADDRESSES}`);
  } else if (length !== fixed) {
    throw badLength(type, length, String(fixed));
  }
}

/** Decodes a body that passed checkHeader; throws WireError. */
export function parseBody(type: number, flags: number, body: Buffer): Frame {
  switch (type) {
    case FrameType.DATA: {
      const seq = body.readUIntBE(0, 6);
      const fin = (flags & FLAG_FIN) !== 0;
      const payload = body.subarray(DATA_FIXED_LENGTH);
      if (seq + payload.length + (fin ? 1 : 0) > U48_MAX + 1) {
        throw malformed('DATA frame runs past sequence number 2^48 - 1');
      }
      return {
        type: 'data',
        seq,
        ack: body.readUIntBE(6, 6),
        window: body.readUInt32BE(12),
        fin,
        payload,
      };
    }
    case FrameType.ACK:
      return { type: 'ack', ack: body.readUIntBE(0, 6), window: body.readUInt32BE(6) };
    case FrameType.PING:
      return { type: 'ping', id: body.readUInt32BE(0) };
    case FrameType.PONG:
      return { type: 'pong', id: body.readUInt32BE(0) };
    case FrameType.ERROR:
      return { type: 'error', code: body.readUInt16BE(0), reason: body.toString('utf8', 2) };
    case FrameType.PATH_ACK:
      return {
        type: 'path-ack',
        ack: body.readUIntBE(0, 6),
        window: body.readUInt32BE(6),
        pathReceived: body.readUIntBE(10, 6),
      };
    case FrameType.ADDRESSES: {
      const n = body.readUInt8(0);
      if (body.length !== 1 + ADDR_LENGTH * n)
        throw malformed(`ADDRESSES says ${n} addresses in a body of ${body.length} bytes`);
      const addresses = [];
      for (let i = 0; i < n; i++) {
        const a = readAddr(body, 1 + ADDR_LENGTH * i);
        if (a === null) throw malformed('ADDRESSES holds the address "none"');
        addresses.push(a);
      }
      return { type: 'addresses', addresses };
    }
    case FrameType.PATH_STATUS: {
      const code = body.readUInt8(2);
      const status = code === 0 ? 'active' : code === 1 ? 'backup' : code === 2 ? 'removed' : null;
      if (status === null)
        throw malformed(`PATH_STATUS status ${code} (0 active, 1 backup, 2 removed)`);
      return {
        type: 'path-status',
        pathId: body.readUInt16BE(0),
        status,
        seq: body.readUInt8(3),
        cost: body.readUInt32BE(4),
      };
    }
    case FrameType.COOKIE:
      return { type: 'cookie', cookie: copy(body, 0, COOKIE_LENGTH) };
    case FrameType.HELLO:
      return parseHello(body, flags);
    case FrameType.WELCOME:
      return parseWelcome(body);
    default:
      throw new WireError(WireErrorCode.TYPE, `unknown frame type 0x${hex(type)}`);
  }
}

function parseHello(body: Buffer, flags: number): Frame {
  if (HELLO_MAGIC.compare(body, 0, 4) !== 0) {
    throw new WireError(WireErrorCode.MAGIC, 'HELLO does not start with "ROAM": not a roam peer');
  }
  const version = body.readUInt8(4);
  if (version !== PROTOCOL_VERSION) {
    throw new WireError(
      WireErrorCode.VERSION,
      `HELLO of protocol version ${version}; this end speaks version ${PROTOCOL_VERSION}`,
    );
  }
  if (body.length !== HELLO_LENGTH)
    throw badLength(FrameType.HELLO, body.length, String(HELLO_LENGTH));
  const modeByte = body.readUInt8(5);
  if (modeByte > 2) throw malformed(`HELLO mode ${modeByte} (0 new, 1 attach, 2 add)`);
  const mode = modeByte === 0 ? 'new' : modeByte === 1 ? 'attach' : 'add';
  const counter = body.readUInt32BE(72);
  if (mode === 'new' && (counter !== 0 || !isZero(body, 105, 105 + PROOF_LENGTH))) {
    throw malformed('new-mode HELLO with a nonzero counter or proof');
  }
  if (mode !== 'new' && !isZero(body, 40, 40 + KEY_LENGTH)) {
    throw malformed(`${mode}-mode HELLO with a nonzero keyShare`);
  }
  const multipath = (flags & FLAG_MULTIPATH) !== 0;
  if (multipath && mode !== 'new') throw malformed(`${mode}-mode HELLO with the MULTIPATH flag`);
  return {
    type: 'hello',
    mode,
    pathId: body.readUInt16BE(6),
    connId: copy(body, 8, 24),
    nonce: copy(body, 24, 40),
    keyShare: copy(body, 40, 72),
    counter,
    received: body.readUIntBE(76, 6),
    recvWindow: body.readUInt32BE(82),
    controlAddr: readAddr(body, 86),
    proof: copy(body, 105, 137),
    ...(multipath ? { multipath } : {}),
  };
}

function parseWelcome(body: Buffer): Frame {
  return {
    type: 'welcome',
    pathId: body.readUInt16BE(0),
    connId: copy(body, 2, 18),
    nonce: copy(body, 18, 34),
    keyShare: copy(body, 34, 66),
    received: body.readUIntBE(66, 6),
    recvWindow: body.readUInt32BE(72),
    controlAddr: readAddr(body, 76),
    proof: copy(body, 95, 127),
  };
}

/**
 * Handshake fields get buffers of their own: a session keeps connId and keys for its whole
 * life, and a view would keep the whole input chunk alive with them.
 */
function copy(body: Buffer, start: number, end: number): Buffer {
  return Buffer.from(body.subarray(start, end));
}

/** Fixed body length of each non-DATA type; HELLO and ERROR are checked apart. */
const FIXED_LENGTH: Partial<Record<number, number>> = {
  [FrameType.HELLO]: HELLO_LENGTH,
  [FrameType.WELCOME]: WELCOME_LENGTH,
  [FrameType.ACK]: ACK_LENGTH,
  [FrameType.PING]: PING_LENGTH,
  [FrameType.PONG]: PING_LENGTH,
  [FrameType.ERROR]: ERROR_FIXED_LENGTH,
  [FrameType.PATH_ACK]: PATH_ACK_LENGTH,
  [FrameType.ADDRESSES]: 1,
  [FrameType.PATH_STATUS]: PATH_STATUS_LENGTH,
  [FrameType.COOKIE]: COOKIE_LENGTH,
};

const NAMES: Partial<Record<number, string>> = Object.fromEntries(
  Object.entries(FrameType).map(([name, value]) => [value, name]),
);

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}

function badFlags(type: number, flags: number): WireError {
  return malformed(
    `${NAMES[type] ?? 'unknown'} frame with reserved flag bits set (flags 0x${hex(flags)})`,
  );
}

function tooLarge(type: number, length: number, limit: number): WireError {
  return new WireError(
    WireErrorCode.TOO_LARGE,
    `${NAMES[type] ?? 'unknown'} frame body of ${length} bytes; the limit is ${limit}`,
  );
}

function badLength(type: number, length: number, expected: string): WireError {
  return malformed(
    `${NAMES[type] ?? 'unknown'} frame body of ${length} bytes; expected ${expected}`,
  );
}
