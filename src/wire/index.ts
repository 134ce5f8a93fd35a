// The roam session wire format, version 2 (docs/protocol.md): pure codecs, no I/O.
export { type Addr, ADDR_LENGTH, decodeAddr, encodeAddr } from './address.js';
export {
  CONTROL_LENGTH,
  CONTROL_MAGIC,
  CONTROL_VERSION,
  type ControlFields,
  type ControlMessage,
  controlProofInput,
  ControlType,
  decodeControl,
  encodeControl,
  MAX_CONTROL_DATAGRAM,
  type ReconnectAckFields,
  type ReconnectFields,
} from './control.js';
export { FrameDecoder, type FrameDecoderOptions } from './decoder.js';
export { encodedLength, encodeFrame } from './encode.js';
export { ErrorCode, WireError, WireErrorCode } from './errors.js';
export { ID_LENGTH, KEY_LENGTH, PROOF_LENGTH, U48_MAX } from './fields.js';
export {
  type AckFrame,
  type AddressesFrame,
  COOKIE_LENGTH,
  type CookieFrame,
  type DataFrame,
  DATA_FIXED_LENGTH,
  type ErrorFrame,
  FLAG_FIN,
  FLAG_MULTIPATH,
  type Frame,
  FrameType,
  HEADER_LENGTH,
  type HelloFrame,
  HelloMode,
  INITIAL_WINDOW,
  MAX_ADDRESSES,
  MAX_CONTROL_BODY,
  MAX_DATA_BODY,
  MAX_ERROR_REASON,
  MAX_PAYLOAD,
  type PathAckFrame,
  PathStatus,
  type PathStatusFrame,
  PATH_STATUS_LENGTH,
  type PingFrame,
  type PongFrame,
  PROTOCOL_VERSION,
  type WelcomeFrame,
} from './frame.js';
export {
  ATTACH_PROOF_INPUT_LENGTH,
  type AttachProofFields,
  attachProofInput,
  type ProofRole,
} from './proof.js';
