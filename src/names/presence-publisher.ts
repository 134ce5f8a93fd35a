import { rootLogger } from '../log/logger.js';
import type { NamesClock } from './clock.js';
import { BatchPlanner, type PresenceBatchOptions } from './presence-batch.js';
import type { PresenceTable } from './presence.js';
import type { PresenceBoard } from './store/store.js';

/** Batch writes of one round in flight at once. */
const IN_FLIGHT = 16;

export interface PublisherOptions extends PresenceBatchOptions {
  /** This server's name on the board (random per process by default). */
  serverId: string;
  /** How often the due batches are written (default 5000 ms). */
  intervalMs: number;
  /** Called after each round of writes (tests and benchmarks wait on it). */
  onPublish?: (round: { batches: number; bytes: number }) => void;
}

/**
 * Writes this server's soft presence to the store's board in batches (presence-batch.ts):
 * every `intervalMs`, the shards whose online set changed or is due for a refresh, a few at a
 * time. One round at a time: a slow store delays the next round, it does not pile them up.
 */
export class PresencePublisher {
  /** Batches and bytes written so far (bench/names-scale reports them). */
  batches = 0;
  bytes = 0;
  failures = 0;
  private readonly planner: BatchPlanner;
  private readonly timer: NodeJS.Timeout;
  private running = false;
  private closed = false;

  constructor(
    private readonly table: PresenceTable,
    private readonly board: PresenceBoard,
    private readonly clock: NamesClock,
    private readonly opts: PublisherOptions,
  ) {
    this.planner = new BatchPlanner(opts);
    this.timer = setInterval(() => void this.round(), opts.intervalMs);
    this.timer.unref();
  }

  /** One round now (the timer's job; tests call it too). */
  async round(): Promise<void> {
    if (this.running || this.closed) return;
    this.running = true;
    let batches = 0;
    let bytes = 0;
    try {
      const now = this.clock.now();
      const due = this.planner.plan(this.table.online(now), now);
      // A few writes in flight at a time: a round of 256 shards takes a few round trips.
      let next = 0;
      const writer = async () => {
        for (let batch = due[next++]; batch && !this.closed; batch = due[next++]) {
          try {
            await this.board.publish(this.opts.serverId, batch.shard, now, batch.names);
            this.planner.done(batch, now);
            batches++;
            bytes += batch.names.reduce((n, s) => n + s.length + 3, 16);
          } catch (err) {
            // The store is away: the batch stays due and goes out in a later round.
            this.failures++;
            rootLogger().debug({ err }, 'names server: presence batch not written yet');
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, due.length) }, writer));
    } finally {
      this.running = false;
      this.batches += batches;
      this.bytes += bytes;
      this.opts.onPublish?.({ batches, bytes });
    }
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
  }
}
