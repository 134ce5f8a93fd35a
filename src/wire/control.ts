import { type Addr, ADDR_LENGTH, readAddr, writeAddr } from './address.js';
import { badInput, malformed, WireError, WireErrorCode } from './errors.js';
import { checkBytes, checkUint, ID_LENGTH, PROOF_LENGTH, U32_MAX } from './fields.js';
/** Control datagrams are unchanged since protocol version 1 and keep that version byte. */
export const CONTROL_VERSION = 1;

/**
 * UDP control datagrams, for server mobility: the server tells the client's control socket
 * where it listens now (RECONNECT, resent stop-and-wait until acknowledged) and the client
 * acknowledges (RECONNECT_ACK). One datagram, one message:
 *
 *   magic "RMCT" | version u8 | type u8 | connId 16 | counter u32 | addr 19 | proof 32
 *
 * 77 bytes in version 1; no datagram over 128 bytes is read, in any version.
 */

export const CONTROL_MAGIC = Buffer.from('RMCT', 'latin1');
const ADDR_OFFSET = 26;
/** Where the proof starts: the 45 bytes before it are what the proof covers. */
export const CONTROL_PROOF_OFFSET = ADDR_OFFSET + ADDR_LENGTH;
export const CONTROL_LENGTH = CONTROL_PROOF_OFFSET + PROOF_LENGTH;
export const MAX_CONTROL_DATAGRAM = 128;

export const ControlType = { RECONNECT: 1, RECONNECT_ACK: 2 } as const;
export type ControlType = (typeof ControlType)[keyof typeof ControlType];

export interface ReconnectFields {
  type: 'reconnect';
  /** The session, 16 bytes. */
  connId: Buffer;
  /** Strictly increasing per session, like the HELLO attach counter. */
  counter: number;
  /** Where the server listens now. */
  addr: Addr;
}

export interface ReconnectAckFields {
  type: 'reconnect-ack';
  connId: Buffer;
  /** The counter of the RECONNECT acknowledged. */
  counter: number;
}

/** A control message without its proof: what controlProofInput takes. */
export type ControlFields = ReconnectFields | ReconnectAckFields;
export type ControlMessage = ControlFields & {
  /** HMAC over controlProofInput(message), 32 bytes. */
  proof: Buffer;
};

export function encodeControl(msg: ControlMessage): Buffer {
  const buf = Buffer.alloc(CONTROL_LENGTH);
  writeFields(buf, msg);
  checkBytes('control.proof', msg.proof, PROOF_LENGTH);
  msg.proof.copy(buf, CONTROL_PROOF_OFFSET);
  return buf;
}

/** The bytes a control message's proof covers: the datagram up to the proof (45 bytes). */
export function controlProofInput(msg: ControlFields): Buffer {
  const buf = Buffer.alloc(CONTROL_PROOF_OFFSET);
  writeFields(buf, msg);
  return buf;
}

/** Throws WireError; never reads past the datagram. */
export function decodeControl(datagram: Buffer): ControlMessage {
  if (datagram.length > MAX_CONTROL_DATAGRAM) {
    throw new WireError(
      WireErrorCode.TOO_LARGE,
      `control datagram of ${datagram.length} bytes; the limit is ${MAX_CONTROL_DATAGRAM}`,
    );
  }
  if (datagram.length < 6) throw malformed(`control datagram of ${datagram.length} bytes`);
  if (CONTROL_MAGIC.compare(datagram, 0, 4) !== 0) {
    throw new WireError(WireErrorCode.MAGIC, 'control datagram does not start with "RMCT"');
  }
  const version = datagram.readUInt8(4);
  if (version !== CONTROL_VERSION) {
    throw new WireError(
      WireErrorCode.VERSION,
      `control datagram of protocol version ${version}; this end speaks version ${CONTROL_VERSION}`,
    );
  }
  const type = datagram.readUInt8(5);
  if (type !== ControlType.RECONNECT && type !== ControlType.RECONNECT_ACK) {
    throw new WireError(WireErrorCode.TYPE, `unknown control message type ${type}`);
  }
  if (datagram.length !== CONTROL_LENGTH) {
    throw malformed(`control datagram of ${datagram.length} bytes; expected ${CONTROL_LENGTH}`);
  }
  const connId = Buffer.from(datagram.subarray(6, 22));
  const counter = datagram.readUInt32BE(22);
  const addr = readAddr(datagram, ADDR_OFFSET);
  const proof = Buffer.from(datagram.subarray(CONTROL_PROOF_OFFSET, CONTROL_LENGTH));
  if (type === ControlType.RECONNECT_ACK) {
    if (addr !== null) throw malformed('RECONNECT_ACK with an address');
    return { type: 'reconnect-ack', connId, counter, proof };
  }
  if (addr === null) throw malformed('RECONNECT without an address');
  return { type: 'reconnect', connId, counter, addr, proof };
}

/** Writes everything but the proof into buf[0, 45). */
function writeFields(buf: Buffer, msg: ControlFields): void {
  if (msg.type !== 'reconnect' && msg.type !== 'reconnect-ack') {
    throw badInput(
      `unknown control message type ${JSON.stringify((msg as { type: unknown }).type)}`,
    );
  }
  checkBytes('control.connId', msg.connId, ID_LENGTH);
  checkUint('control.counter', msg.counter, U32_MAX);
  CONTROL_MAGIC.copy(buf, 0);
  buf[4] = CONTROL_VERSION;
  buf[5] = msg.type === 'reconnect' ? ControlType.RECONNECT : ControlType.RECONNECT_ACK;
  msg.connId.copy(buf, 6);
  buf.writeUInt32BE(msg.counter, 22);
  if (msg.type === 'reconnect') {
    if (msg.addr === null || typeof msg.addr !== 'object') {
      throw badInput('a reconnect carries the address the server listens on now');
    }
    writeAddr(buf, ADDR_OFFSET, msg.addr);
  } else {
    writeAddr(buf, ADDR_OFFSET, null);
  }
}
