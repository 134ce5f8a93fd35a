import { badInput } from './errors.js';
import { checkBytes, checkUint, ID_LENGTH, U16_MAX, U32_MAX, U48_MAX } from './fields.js';

/**
 * The bytes an attach proof covers. The session computes HMAC(sessionSecret, these bytes);
 * the codec only carries the 32-byte result. Every field has a fixed width and the two labels
 * have the same length, so two different sets of fields never give the same bytes, and a
 * client's proof can never pass as a server's:
 *
 *   label 13 ("roam-attach-c" | "roam-attach-s") | connId 16 | pathId u16 | counter u32 |
 *   received u48 | clientNonce 16 | serverNonce 16 (zeros when not known yet)
 *
 * 73 bytes. Control datagrams are covered by controlProofInput (control.ts): their "RMCT"
 * magic keeps them apart from these labels.
 */

export type ProofRole = 'client' | 'server';

export interface AttachProofFields {
  connId: Buffer;
  pathId: number;
  /** The attach counter of the HELLO. */
  counter: number;
  /** The `received` field of the frame the proof is in. */
  received: number;
  clientNonce: Buffer;
  /** The WELCOME's nonce; null (zeros) in the client's HELLO, before it is known. */
  serverNonce: Buffer | null;
}

export const ATTACH_PROOF_INPUT_LENGTH = 73;

const LABELS: Record<ProofRole, Buffer> = {
  client: Buffer.from('roam-attach-c', 'latin1'),
  server: Buffer.from('roam-attach-s', 'latin1'),
};

export function attachProofInput(role: ProofRole, fields: AttachProofFields): Buffer {
  const label = role === 'client' || role === 'server' ? LABELS[role] : undefined;
  if (label === undefined) throw badInput(`proof role must be "client" or "server"`);
  const { connId, pathId, counter, received, clientNonce, serverNonce } = fields;
  checkBytes('proof connId', connId, ID_LENGTH);
  checkUint('proof pathId', pathId, U16_MAX);
  checkUint('proof counter', counter, U32_MAX);
  checkUint('proof received', received, U48_MAX);
  checkBytes('proof clientNonce', clientNonce, ID_LENGTH);
  if (serverNonce !== null) checkBytes('proof serverNonce', serverNonce, ID_LENGTH);

  const buf = Buffer.alloc(ATTACH_PROOF_INPUT_LENGTH);
  let off = label.copy(buf, 0);
  off += connId.copy(buf, off);
  off = buf.writeUInt16BE(pathId, off);
  off = buf.writeUInt32BE(counter, off);
  off = buf.writeUIntBE(received, off, 6);
  off += clientNonce.copy(buf, off);
  if (serverNonce !== null) serverNonce.copy(buf, off);
  return buf;
}
