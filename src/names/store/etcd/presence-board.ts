import { z } from 'zod';
import { rootLogger } from '../../../log/logger.js';
import type { PresenceBoard } from '../store.js';
import type { EtcdConnection } from './connection.js';
import type { EtcdLayout } from './layout.js';

/** Shards read in one transaction: etcd refuses more than --max-txn-ops (128 by default). */
const TXN_OPS = 100;

const publication = z.strictObject({
  at: z.number().int().nonnegative(),
  names: z.array(z.string().max(253)).max(1_000_000),
});

/**
 * The PresenceBoard of an EtcdStore: one key per shard and server (EtcdLayout's p/), each
 * written whole. A batch replaces the server's previous one for that shard; an empty batch
 * deletes it. Reads take one transaction per hundred shards.
 */
export class EtcdPresenceBoard implements PresenceBoard {
  constructor(
    private readonly conn: EtcdConnection,
    private readonly layout: EtcdLayout,
  ) {}

  async publish(
    server: string,
    shard: number,
    at: number,
    names: readonly string[],
  ): Promise<void> {
    const key = this.layout.presenceKey(shard, server);
    await this.conn.call('presence', async (a): Promise<void> => {
      if (names.length === 0)
        await this.conn.client.kv.deleteRange({ key }, { deadline: a.deadline });
      else
        await this.conn.client.kv.put(
          { key, value: Buffer.from(JSON.stringify({ at, names })) },
          { deadline: a.deadline },
        );
    });
  }

  async read(shards: readonly number[]): Promise<Map<string, number>> {
    const seen = new Map<string, number>();
    const unique = [...new Set(shards)];
    for (let i = 0; i < unique.length; i += TXN_OPS) {
      const chunk = unique.slice(i, i + TXN_OPS);
      const res = await this.conn.call('presence', (a) =>
        this.conn.client.kv.txn(
          { success: chunk.map((s) => ({ request_range: this.layout.presenceRange(s) })) },
          { deadline: a.deadline },
        ),
      );
      for (const r of res.responses)
        for (const kv of r.response_range.kvs) {
          let p: z.infer<typeof publication>;
          try {
            p = publication.parse(JSON.parse(kv.value.toString('utf8')));
          } catch (err) {
            // Not written by a roam server: not presence.
            rootLogger().warn({ err, key: kv.key.toString() }, 'names store: unreadable presence');
            continue;
          }
          for (const name of p.names) seen.set(name, Math.max(seen.get(name) ?? 0, p.at));
        }
    }
    return seen;
  }
}
