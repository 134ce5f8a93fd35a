/*
 * The states of one client connection (a Flow), and its one transition function.
 *
 *          request head              response end, request done, keep-alive
 *   idle ──────────────▶ forwarding ───────────────────────────────────────▶ idle
 *     │                   │      ▲
 *     │    uplink failed, │      │ the re-request's response fits: a 206 where the body
 *     │    upstream lost  ▼      │ stopped, a 200 of the same content (discard), a replay
 *     │                  resuming ──failed again / resume timeout──▶ resuming
 *     │                   │
 *     │   101, CONNECT 2xx│ not resumable, rejected, no uplink, bad input, no keep-alive
 *     ▼        ▼          ▼
 *   closing ◀─ tunnel   closing ──client socket closed──▶ closed   (any state ──▶ closed)
 */
export type FlowState = 'idle' | 'forwarding' | 'resuming' | 'tunnel' | 'closing' | 'closed';

export type FlowEvent =
  'request' | 'response-done' | 'failure' | 'resumed' | 'upgrade' | 'close' | 'closed';

/** The state after `event`; an event that does not apply leaves the state as it is. */
export function nextState(from: FlowState, event: FlowEvent): FlowState {
  if (event === 'closed') return 'closed';
  switch (from) {
    case 'idle':
      if (event === 'request') return 'forwarding';
      return event === 'close' ? 'closing' : from;
    case 'forwarding':
      if (event === 'response-done') return 'idle';
      if (event === 'failure') return 'resuming';
      if (event === 'upgrade') return 'tunnel';
      return event === 'close' ? 'closing' : from;
    case 'resuming':
      if (event === 'resumed') return 'forwarding';
      return event === 'close' ? 'closing' : from;
    case 'tunnel':
      return event === 'close' ? 'closing' : from;
    case 'closing':
    case 'closed':
      return from;
    default: {
      const never: never = from;
      throw new Error(`unknown flow state ${String(never)}`);
    }
  }
}

export interface FlowStats {
  readonly id: number;
  /** The client's address:port. */
  readonly client: string;
  /** The origin's address:port. */
  readonly server: string;
  readonly uplink: string | undefined;
  readonly state: FlowState;
  readonly requests: number;
  /** Responses continued from a new upstream connection (spliced, discarded, replayed). */
  readonly migrations: number;
  readonly bytesFromClient: number;
  readonly bytesToClient: number;
  readonly bytesFromServer: number;
  /** Why the flow failed, when it did. */
  readonly error: { readonly code: string; readonly message: string } | undefined;
}
