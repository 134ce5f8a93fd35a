import { ErrorCode, type Frame, type HelloFrame, type WelcomeFrame } from '../wire/index.js';
import { attachProof, attachProofValid } from './handshake.js';
import type { ReplayWindow } from './replay-window.js';
import { deriveSecret, type KeyShare } from './secret.js';

/**
 * The handshake's messages, for both ends, as pure functions: build HELLO, accept it (a new
 * session, or an attach or add with its proof), build WELCOME, verify it. Randomness (key
 * shares, nonces) and the session's state come in as arguments; each answer is a value or
 * the wire error to close the flowpath with. No sockets, no timers: the client and server
 * modules do the waiting.
 */

/** Why a handshake message is refused: the ERROR to send, and a line for the log. */
export interface Refusal {
  ok: false;
  code: ErrorCode;
  /** The ERROR frame's reason, for the peer. */
  reason: string;
  /** For the operator's log line. */
  why: string;
}

export type Accepted<T> = ({ ok: true } & T) | Refusal;

const refuse = (code: ErrorCode, reason: string, why = reason): Refusal => ({
  ok: false,
  code,
  reason,
  why,
});

const ZERO_SHARE = Buffer.alloc(32);
const ZERO_NONCE = Buffer.alloc(16);
const ZERO_PROOF = Buffer.alloc(32);

type ControlAddr = HelloFrame['controlAddr'];

// ---- a new session ------------------------------------------------------------------------

export interface NewHelloInput {
  /** The client's half of the connection id, the same on every retry of this session. */
  clientHalf: Buffer;
  share: KeyShare;
  nonce: Buffer;
  recvWindow: number;
  controlAddr: ControlAddr;
  multipath: boolean;
}

export function newHello(i: NewHelloInput): HelloFrame {
  return {
    type: 'hello',
    mode: 'new',
    pathId: 0,
    connId: Buffer.concat([i.clientHalf, Buffer.alloc(8)]),
    nonce: i.nonce,
    keyShare: i.share.publicKey,
    counter: 0,
    received: 0,
    recvWindow: i.recvWindow,
    controlAddr: i.controlAddr,
    proof: ZERO_PROOF,
    multipath: i.multipath,
  };
}

export interface ServerContribution {
  share: KeyShare;
  nonce: Buffer;
  /** The server's half of the connection id. */
  serverHalf: Buffer;
  /** What the new session can take at first (its input buffer). */
  recvWindow: number;
}

/** Server: a HELLO new becomes a session id, its secret and the WELCOME that proves it. */
export function acceptNewHello(
  hello: HelloFrame,
  server: ServerContribution,
): Accepted<{ connId: Buffer; secret: Buffer; welcome: WelcomeFrame }> {
  // Checked before anything is made: a new session starts at byte 0.
  if (hello.received !== 0)
    return refuse(
      ErrorCode.PROTOCOL,
      'a new session starts at received 0',
      'new session with a resume point',
    );
  const connId = Buffer.concat([hello.connId.subarray(0, 8), server.serverHalf]);
  let secret: Buffer;
  try {
    secret = deriveSecret(server.share, hello.keyShare, connId, hello.nonce, server.nonce);
  } catch {
    return refuse(ErrorCode.PROTOCOL, 'bad key share');
  }
  const proof = attachProof(secret, 'server', {
    connId,
    pathId: hello.pathId,
    counter: 0,
    received: 0,
    clientNonce: hello.nonce,
    serverNonce: server.nonce,
  });
  return {
    ok: true,
    connId,
    secret,
    welcome: welcome(
      hello.pathId,
      connId,
      server.nonce,
      server.share.publicKey,
      0,
      server.recvWindow,
      proof,
    ),
  };
}

/** Client: the server's answer to HELLO new, checked; the session's id and secret. */
export function verifyNewWelcome(
  frame: Frame,
  i: Pick<NewHelloInput, 'clientHalf' | 'share' | 'nonce'>,
): Accepted<{ connId: Buffer; secret: Buffer; welcome: WelcomeFrame }> {
  if (frame.type !== 'welcome' || !frame.connId.subarray(0, 8).equals(i.clientHalf))
    return refuse(
      ErrorCode.PROTOCOL,
      'expected WELCOME for our session',
      'the server answered HELLO with something other than our WELCOME',
    );
  let secret: Buffer;
  try {
    secret = deriveSecret(i.share, frame.keyShare, frame.connId, i.nonce, frame.nonce);
  } catch {
    return refuse(ErrorCode.PROTOCOL, 'bad key share', 'the server sent an unusable key share');
  }
  const fields = {
    connId: frame.connId,
    pathId: 0,
    counter: 0,
    received: frame.received,
    clientNonce: i.nonce,
    serverNonce: frame.nonce,
  };
  if (!attachProofValid(secret, 'server', fields, frame.proof))
    return refuse(
      ErrorCode.BAD_PROOF,
      'key confirmation failed',
      'key confirmation failed: the server derived another secret',
    );
  return { ok: true, connId: frame.connId, secret, welcome: frame };
}

// ---- attach (resume) and add (another flowpath) ---------------------------------------------

export interface JoinInput {
  mode: 'attach' | 'add';
  connId: Buffer;
  secret: Buffer;
  pathId: number;
  /** Strictly increasing per session: the server refuses one it accepted before. */
  counter: number;
  /** What the client has received of the server's stream: the resume point. */
  received: number;
  nonce: Buffer;
  recvWindow: number;
  controlAddr: ControlAddr;
}

export function joinHello(i: JoinInput): HelloFrame {
  return {
    type: 'hello',
    mode: i.mode,
    pathId: i.pathId,
    connId: i.connId,
    nonce: i.nonce,
    keyShare: ZERO_SHARE,
    counter: i.counter,
    received: i.received,
    recvWindow: i.recvWindow,
    controlAddr: i.controlAddr,
    proof: attachProof(i.secret, 'client', {
      connId: i.connId,
      pathId: i.pathId,
      counter: i.counter,
      received: i.received,
      clientNonce: i.nonce,
      serverNonce: ZERO_NONCE,
    }),
  };
}

export interface JoinedSession {
  secret: Buffer;
  /** What the server has received of the client's stream. */
  received: number;
  recvWindow: number;
  /** Attach counters accepted so far: a fresh one is recorded. */
  counters: ReplayWindow;
}

/** Server: an attach or add HELLO for a session it has, proof and freshness checked. */
export function acceptJoinHello(
  hello: HelloFrame,
  session: JoinedSession,
  serverNonce: Buffer,
): Accepted<{ welcome: WelcomeFrame }> {
  const id = hello.connId.toString('hex');
  const fields = {
    connId: hello.connId,
    pathId: hello.pathId,
    counter: hello.counter,
    received: hello.received,
    clientNonce: hello.nonce,
    serverNonce: ZERO_NONCE,
  };
  if (!attachProofValid(session.secret, 'client', fields, hello.proof))
    return refuse(ErrorCode.BAD_PROOF, 'bad proof', `attach to session ${id} with a bad proof`);
  if (!session.counters.accept(hello.counter))
    return refuse(ErrorCode.REPLAY, 'attach counter not fresh', `replayed attach to session ${id}`);
  const proof = attachProof(session.secret, 'server', {
    ...fields,
    received: session.received,
    serverNonce,
  });
  return {
    ok: true,
    welcome: welcome(
      hello.pathId,
      hello.connId,
      serverNonce,
      ZERO_SHARE,
      session.received,
      session.recvWindow,
      proof,
    ),
  };
}

/** Client: the server's answer to an attach or add, which must prove the session secret. */
export function verifyJoinWelcome(frame: Frame, i: JoinInput): Accepted<{ welcome: WelcomeFrame }> {
  const proven =
    frame.type === 'welcome' &&
    frame.connId.equals(i.connId) &&
    attachProofValid(
      i.secret,
      'server',
      {
        connId: i.connId,
        pathId: i.pathId,
        counter: i.counter,
        received: frame.received,
        clientNonce: i.nonce,
        serverNonce: frame.nonce,
      },
      frame.proof,
    );
  if (!proven || frame.type !== 'welcome')
    return refuse(
      ErrorCode.BAD_PROOF,
      'WELCOME did not prove the session secret',
      'the server did not prove the session secret',
    );
  return { ok: true, welcome: frame };
}

function welcome(
  pathId: number,
  connId: Buffer,
  nonce: Buffer,
  keyShare: Buffer,
  received: number,
  recvWindow: number,
  proof: Buffer,
): WelcomeFrame {
  return {
    type: 'welcome',
    pathId,
    connId,
    nonce,
    keyShare,
    received,
    recvWindow,
    // The server's RECONNECT goes out from its control socket; clients need no address.
    controlAddr: null,
    proof,
  };
}
