import type { IncomingMessage, ServerResponse } from 'node:http';
import { rootLogger } from '../../log/logger.js';
import { namesError } from '../codes.js';
import { type FeedItem, openFeed } from '../feed.js';
import { parseName } from '../name.js';
import type { NameStore, WatchHandle } from '../store/store.js';
import type { NamesServerConfig } from './options.js';
import { SseStream } from './sse.js';

/** The open watch streams of one server, counted per source address. */
export class WatchRegistry {
  readonly streams = new Set<SseStream>();
  private readonly perSource = new Map<string, number>();

  constructor(private readonly max: number) {}

  acquire(source: string): void {
    const n = this.perSource.get(source) ?? 0;
    if (n >= this.max)
      throw namesError(
        'ROAM_NAMES_TOO_MANY_WATCHES',
        `this address already has ${n} watches open; close some, or watch several names in one`,
      );
    this.perSource.set(source, n + 1);
  }

  release(source: string): void {
    const n = (this.perSource.get(source) ?? 1) - 1;
    if (n > 0) this.perSource.set(source, n);
    else this.perSource.delete(source);
  }

  closeAll(): void {
    for (const s of [...this.streams]) s.close();
  }
}

/** GET /v1/watch?name=N&owner=U: server-sent events, resumable with Last-Event-ID. */
export async function handleWatch(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  source: string,
  store: NameStore,
  registry: WatchRegistry,
  config: NamesServerConfig,
): Promise<void> {
  const names = url.searchParams.getAll('name');
  const owners = url.searchParams.getAll('owner');
  if (names.length + owners.length === 0)
    throw namesError(
      'ROAM_NAMES_INVALID',
      'say what to watch: ?name=NAME (repeatable) and/or ?owner=USER',
    );
  if (names.length + owners.length > config.maxNamesPerWatch)
    throw namesError(
      'ROAM_NAMES_INVALID',
      `a watch follows at most ${config.maxNamesPerWatch} names and owners`,
    );
  for (const n of names) parseName(n);
  for (const o of owners)
    if (parseName(o).form !== 'user')
      throw namesError('ROAM_NAMES_BAD_NAME', `owner ${o} is not a user name`);
  const header = req.headers['last-event-id'];
  const lastEventId =
    (Array.isArray(header) ? header[0] : header) ?? url.searchParams.get('since') ?? undefined;

  registry.acquire(source);
  let handle: WatchHandle | undefined;
  let closed = false;
  const stream: SseStream = new SseStream(
    res,
    { keepaliveMs: config.keepaliveMs, maxBufferedBytes: config.maxSseBufferBytes, retryMs: 1000 },
    () => {
      closed = true;
      handle?.close();
      registry.streams.delete(stream);
      registry.release(source);
    },
  );
  registry.streams.add(stream);
  try {
    handle = await openFeed(
      store,
      { names, owners },
      lastEventId,
      (item) => send(stream, item),
      // The store's watch ended (etcd gone, or its history compacted): end the stream; the
      // client reconnects with Last-Event-ID and resumes, or gets a reset.
      (err) => {
        rootLogger().warn({ err }, 'names server: store watch ended; closing the stream');
        stream.close();
      },
    );
    if (closed) handle.close();
  } catch (err) {
    rootLogger().warn({ err }, 'names server: watch failed to start');
    stream.close(true);
  }
}

function send(stream: SseStream, item: FeedItem): void {
  switch (item.type) {
    case 'put':
    case 'delete':
      stream.send(
        item.type,
        `{"revision":${item.revision},"name":${JSON.stringify(item.name)},"record":${item.value}}`,
        item.id,
      );
      return;
    case 'sync':
      stream.send('sync', JSON.stringify({ revision: item.revision }), item.id);
      return;
    case 'reset':
      stream.send('reset', JSON.stringify({ reason: item.reason }));
      return;
    default: {
      const never: never = item;
      throw new Error(`unknown feed item ${JSON.stringify(never)}`);
    }
  }
}
