import { ADDR_LENGTH, writeAddr } from './address.js';
import { badInput } from './errors.js';
import {
  checkBytes,
  checkUint,
  ID_LENGTH,
  isZero,
  KEY_LENGTH,
  PROOF_LENGTH,
  U16_MAX,
  U32_MAX,
  U48_MAX,
} from './fields.js';
import {
  ACK_LENGTH,
  COOKIE_LENGTH,
  DATA_FIXED_LENGTH,
  ERROR_FIXED_LENGTH,
  FLAG_FIN,
  FLAG_MULTIPATH,
  type Frame,
  FrameType,
  HEADER_LENGTH,
  HELLO_LENGTH,
  HELLO_MAGIC,
  HelloMode,
  type DataFrame,
  type HelloFrame,
  MAX_ADDRESSES,
  MAX_ERROR_REASON,
  MAX_PAYLOAD,
  PATH_ACK_LENGTH,
  PATH_STATUS_LENGTH,
  PathStatus,
  PING_LENGTH,
  PROTOCOL_VERSION,
  type WelcomeFrame,
  WELCOME_LENGTH,
} from './frame.js';

/**
 * Encodes a frame as the pieces to write, in order, with writev or inside cork/uncork. DATA
 * is [header and fixed fields, payload] (just the first when the payload is empty): the
 * payload is never copied. Every other frame is one buffer. Fields out of range throw
 * RoamError ROAM_BAD_INPUT.
 */
export function encodeFrame(frame: Frame): Buffer[] {
  switch (frame.type) {
    case 'hello':
      return [encodeHello(frame)];
    case 'welcome':
      return [encodeWelcome(frame)];
    case 'data':
      return encodeData(frame);
    case 'ack': {
      checkUint('ack.ack', frame.ack, U48_MAX);
      checkUint('ack.window', frame.window, U32_MAX);
      const buf = start(FrameType.ACK, 0, ACK_LENGTH);
      buf.writeUIntBE(frame.ack, HEADER_LENGTH, 6);
      buf.writeUInt32BE(frame.window, HEADER_LENGTH + 6);
      return [buf];
    }
    case 'ping':
    case 'pong': {
      checkUint(`${frame.type}.id`, frame.id, U32_MAX);
      const buf = start(frame.type === 'ping' ? FrameType.PING : FrameType.PONG, 0, PING_LENGTH);
      buf.writeUInt32BE(frame.id, HEADER_LENGTH);
      return [buf];
    }
    case 'path-ack': {
      checkUint('path-ack.ack', frame.ack, U48_MAX);
      checkUint('path-ack.window', frame.window, U32_MAX);
      checkUint('path-ack.pathReceived', frame.pathReceived, U48_MAX);
      const buf = start(FrameType.PATH_ACK, 0, PATH_ACK_LENGTH);
      buf.writeUIntBE(frame.ack, HEADER_LENGTH, 6);
      buf.writeUInt32BE(frame.window, HEADER_LENGTH + 6);
      buf.writeUIntBE(frame.pathReceived, HEADER_LENGTH + 10, 6);
      return [buf];
    }
    case 'addresses': {
      const list = frame.addresses;
      if (!Array.isArray(list) || list.length > MAX_ADDRESSES)
        throw badInput(`addresses must be an array of at most ${MAX_ADDRESSES} addresses`);
      const buf = start(FrameType.ADDRESSES, 0, 1 + ADDR_LENGTH * list.length);
      buf[HEADER_LENGTH] = list.length;
      list.forEach((a, i) => {
        if (a === null || typeof a !== 'object') throw badInput('addresses holds a non-address');
        writeAddr(buf, HEADER_LENGTH + 1 + ADDR_LENGTH * i, a);
      });
      return [buf];
    }
    case 'path-status': {
      checkUint('path-status.pathId', frame.pathId, U16_MAX);
      if (!Object.hasOwn(PathStatus, frame.status))
        throw badInput(
          `path-status.status must be "active", "backup" or "removed", got ${JSON.stringify(frame.status)}`,
        );
      checkUint('path-status.seq', frame.seq, 0xff);
      checkUint('path-status.cost', frame.cost, U32_MAX);
      const buf = start(FrameType.PATH_STATUS, 0, PATH_STATUS_LENGTH);
      buf.writeUInt16BE(frame.pathId, HEADER_LENGTH);
      buf[HEADER_LENGTH + 2] = PathStatus[frame.status];
      buf[HEADER_LENGTH + 3] = frame.seq;
      buf.writeUInt32BE(frame.cost, HEADER_LENGTH + 4);
      return [buf];
    }
    case 'cookie': {
      checkBytes('cookie.cookie', frame.cookie, COOKIE_LENGTH);
      const buf = start(FrameType.COOKIE, 0, COOKIE_LENGTH);
      frame.cookie.copy(buf, HEADER_LENGTH);
      return [buf];
    }
    case 'error': {
      checkUint('error.code', frame.code, U16_MAX);
      if (typeof frame.reason !== 'string') throw badInput('error.reason must be a string');
      const reason = Buffer.from(frame.reason, 'utf8');
      if (reason.length > MAX_ERROR_REASON) {
        throw badInput(
          `error.reason is ${reason.length} UTF-8 bytes; the limit is ${MAX_ERROR_REASON}`,
        );
      }
      const buf = start(FrameType.ERROR, 0, ERROR_FIXED_LENGTH + reason.length);
      buf.writeUInt16BE(frame.code, HEADER_LENGTH);
      reason.copy(buf, HEADER_LENGTH + ERROR_FIXED_LENGTH);
      return [buf];
    }
    default:
      throw badInput(`unknown frame type ${JSON.stringify((frame as { type: unknown }).type)}`);
  }
}

/** The number of bytes encodeFrame(frame) writes, header included. */
export function encodedLength(frame: Frame): number {
  switch (frame.type) {
    case 'hello':
      return HEADER_LENGTH + HELLO_LENGTH;
    case 'welcome':
      return HEADER_LENGTH + WELCOME_LENGTH;
    case 'data':
      return HEADER_LENGTH + DATA_FIXED_LENGTH + frame.payload.length;
    case 'ack':
      return HEADER_LENGTH + ACK_LENGTH;
    case 'ping':
    case 'pong':
      return HEADER_LENGTH + PING_LENGTH;
    case 'error':
      return HEADER_LENGTH + ERROR_FIXED_LENGTH + Buffer.byteLength(frame.reason, 'utf8');
    case 'path-ack':
      return HEADER_LENGTH + PATH_ACK_LENGTH;
    case 'addresses':
      return HEADER_LENGTH + 1 + ADDR_LENGTH * frame.addresses.length;
    case 'path-status':
      return HEADER_LENGTH + PATH_STATUS_LENGTH;
    case 'cookie':
      return HEADER_LENGTH + COOKIE_LENGTH;
  }
}

/** A zeroed buffer for a whole frame, its header written. */
function start(type: FrameType, flags: number, bodyLength: number): Buffer {
  const buf = Buffer.alloc(HEADER_LENGTH + bodyLength);
  buf[0] = type;
  buf[1] = flags;
  buf.writeUInt32BE(bodyLength, 2);
  return buf;
}

function encodeData(frame: DataFrame): Buffer[] {
  const { seq, ack, window, fin, payload } = frame;
  checkUint('data.seq', seq, U48_MAX);
  checkUint('data.ack', ack, U48_MAX);
  checkUint('data.window', window, U32_MAX);
  if (typeof fin !== 'boolean') throw badInput('data.fin must be a boolean');
  if (!Buffer.isBuffer(payload) || payload.length > MAX_PAYLOAD) {
    throw badInput(`data.payload must be a Buffer of at most ${MAX_PAYLOAD} bytes`);
  }
  if (seq + payload.length + (fin ? 1 : 0) > U48_MAX + 1) {
    throw badInput('data frame runs past sequence number 2^48 - 1; sequence numbers do not wrap');
  }
  const head = Buffer.allocUnsafe(HEADER_LENGTH + DATA_FIXED_LENGTH);
  head[0] = FrameType.DATA;
  head[1] = fin ? FLAG_FIN : 0;
  head.writeUInt32BE(DATA_FIXED_LENGTH + payload.length, 2);
  head.writeUIntBE(seq, 6, 6);
  head.writeUIntBE(ack, 12, 6);
  head.writeUInt32BE(window, 18);
  return payload.length === 0 ? [head] : [head, payload];
}

function encodeHello(f: HelloFrame): Buffer {
  if (f.mode !== 'new' && f.mode !== 'attach' && f.mode !== 'add') {
    throw badInput(`hello.mode must be "new", "attach" or "add", got ${JSON.stringify(f.mode)}`);
  }
  checkUint('hello.pathId', f.pathId, U16_MAX);
  checkBytes('hello.connId', f.connId, ID_LENGTH);
  checkBytes('hello.nonce', f.nonce, ID_LENGTH);
  checkBytes('hello.keyShare', f.keyShare, KEY_LENGTH);
  checkUint('hello.counter', f.counter, U32_MAX);
  checkUint('hello.received', f.received, U48_MAX);
  checkUint('hello.recvWindow', f.recvWindow, U32_MAX);
  checkBytes('hello.proof', f.proof, PROOF_LENGTH);
  if (f.mode === 'new' && (f.counter !== 0 || !isZero(f.proof, 0, PROOF_LENGTH))) {
    throw badInput('a new-mode hello carries counter 0 and an all-zero proof');
  }
  if (f.mode !== 'new' && !isZero(f.keyShare, 0, KEY_LENGTH)) {
    throw badInput(`an ${f.mode}-mode hello carries an all-zero keyShare`);
  }
  if (f.multipath === true && f.mode !== 'new') {
    throw badInput(`an ${f.mode}-mode hello cannot carry the multipath flag`);
  }
  const buf = start(FrameType.HELLO, f.multipath === true ? FLAG_MULTIPATH : 0, HELLO_LENGTH);
  const b = HEADER_LENGTH;
  HELLO_MAGIC.copy(buf, b);
  buf[b + 4] = PROTOCOL_VERSION;
  buf[b + 5] = HelloMode[f.mode];
  buf.writeUInt16BE(f.pathId, b + 6);
  f.connId.copy(buf, b + 8);
  f.nonce.copy(buf, b + 24);
  f.keyShare.copy(buf, b + 40);
  buf.writeUInt32BE(f.counter, b + 72);
  buf.writeUIntBE(f.received, b + 76, 6);
  buf.writeUInt32BE(f.recvWindow, b + 82);
  writeAddr(buf, b + 86, f.controlAddr);
  f.proof.copy(buf, b + 105);
  return buf;
}

function encodeWelcome(f: WelcomeFrame): Buffer {
  checkUint('welcome.pathId', f.pathId, U16_MAX);
  checkBytes('welcome.connId', f.connId, ID_LENGTH);
  checkBytes('welcome.nonce', f.nonce, ID_LENGTH);
  checkBytes('welcome.keyShare', f.keyShare, KEY_LENGTH);
  checkUint('welcome.received', f.received, U48_MAX);
  checkUint('welcome.recvWindow', f.recvWindow, U32_MAX);
  checkBytes('welcome.proof', f.proof, PROOF_LENGTH);
  const buf = start(FrameType.WELCOME, 0, WELCOME_LENGTH);
  const b = HEADER_LENGTH;
  buf.writeUInt16BE(f.pathId, b);
  f.connId.copy(buf, b + 2);
  f.nonce.copy(buf, b + 18);
  f.keyShare.copy(buf, b + 34);
  buf.writeUIntBE(f.received, b + 66, 6);
  buf.writeUInt32BE(f.recvWindow, b + 72);
  writeAddr(buf, b + 76, f.controlAddr);
  f.proof.copy(buf, b + 95);
  return buf;
}
