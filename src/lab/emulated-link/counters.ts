import type { DirectionName } from './connection.js';
import type { DirectionHooks } from './direction.js';

export interface LinkStats {
  /** Connections accepted since start. */
  connections: number;
  /** Connections with at least one socket still open. */
  active: number;
  /** Bytes handed to the target side (client -> target) and to the client side. */
  bytesUp: number;
  bytesDown: number;
  /** Bytes read and thrown away because the link was stalled, in flight ones included. */
  droppedDuringStall: number;
  /** Bytes queued inside the emulator now, all connections and directions. */
  queuedBytes: number;
  /** Largest queue any one direction of any connection has held (bounded by bufferBytes). */
  peakQueuedBytes: number;
}

export type DropListener = (info: { id: number; direction: DirectionName; bytes: number }) => void;
export type BackpressureListener = (info: {
  id: number;
  direction: DirectionName;
  paused: boolean;
}) => void;

/** Link-wide totals, fed by every direction of every connection through its hooks. */
export class LinkCounters {
  connections = 0;
  #bytesUp = 0;
  #bytesDown = 0;
  #dropped = 0;
  #queued = 0;
  #peak = 0;

  constructor(
    private readonly onDrop: DropListener,
    private readonly onBackpressure: BackpressureListener,
  ) {}

  get queuedBytes(): number {
    return this.#queued;
  }

  hooks(id: number, direction: DirectionName): DirectionHooks {
    return {
      delivered: (n) => {
        if (direction === 'up') this.#bytesUp += n;
        else this.#bytesDown += n;
      },
      dropped: (n) => {
        this.#dropped += n;
        this.onDrop({ id, direction, bytes: n });
      },
      queued: (delta, nowQueued) => {
        this.#queued += delta;
        if (nowQueued > this.#peak) this.#peak = nowQueued;
      },
      backpressure: (paused) => this.onBackpressure({ id, direction, paused }),
    };
  }

  snapshot(active: number): LinkStats {
    return {
      connections: this.connections,
      active,
      bytesUp: this.#bytesUp,
      bytesDown: this.#bytesDown,
      droppedDuringStall: this.#dropped,
      queuedBytes: this.#queued,
      peakQueuedBytes: this.#peak,
    };
  }
}
