import type { ClientRequest } from 'node:http';
import { isRoamError } from '../../errors.js';
import { namesError } from '../codes.js';
import { shardOf } from '../presence-batch.js';
import { JsonHttp } from './http.js';

/** Errors another server of the store may not have. */
function movable(err: unknown): boolean {
  return (
    isRoamError(err, 'ROAM_NAMES_UNREACHABLE') || isRoamError(err, 'ROAM_NAMES_STORE_UNAVAILABLE')
  );
}

/**
 * The client's HTTP over several name servers of one store (NamesClient's `servers`): every
 * request goes to the current server; one that cannot be reached, or that answers 503 (its
 * etcd is out of reach, another's may not be), makes the next server current and the request
 * is sent there, once per server. A watch stream follows the same current server: a stream
 * that fails moves it on, and the watch's own reconnect resumes on the next server from its
 * last event id (ids are the store's, the same on every server of it).
 *
 * A write whose answer was lost may have been applied before it is sent again elsewhere;
 * the second server then refuses it as stale and NamesClient publishes one version above,
 * so no acknowledged write is lost and none is applied twice under one version.
 */
export class FailoverHttp extends JsonHttp {
  private readonly members: JsonHttp[];
  private current = 0;

  constructor(servers: readonly string[], timeoutMs: number) {
    const [first] = servers;
    if (first === undefined)
      throw namesError('ROAM_NAMES_CONFIG', 'give at least one name server URL');
    super(first, timeoutMs);
    this.members = servers.map((s) => new JsonHttp(s, timeoutMs));
  }

  /** The server requests go to now. */
  get server(): string {
    return this.member(this.current).base.origin;
  }

  override url(path: string): URL {
    return this.member(this.current).url(path);
  }

  override open(path: string, headers: Record<string, string>): ClientRequest {
    const at = this.current;
    const req = this.member(at).open(path, headers);
    req.once('error', () => this.moveOn(at));
    req.once('response', (res) => {
      if (res.statusCode === 503) this.moveOn(at);
    });
    return req;
  }

  override async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    for (let tried = 1; ; tried++) {
      const at = this.current;
      try {
        return await this.member(at).json<T>(method, path, body);
      } catch (err) {
        if (!movable(err) || tried >= this.members.length) throw err;
        this.moveOn(at);
      }
    }
  }

  /**
   * A request that belongs to one server by `key` (a device's heartbeats: its presence is
   * kept where they arrive): server shardOf(key) first, then the next ones in turn.
   */
  async jsonFor<T>(key: string, method: string, path: string, body?: unknown): Promise<T> {
    const first = shardOf(key, this.members.length);
    for (let tried = 0; ; tried++) {
      try {
        return await this.member((first + tried) % this.members.length).json<T>(method, path, body);
      } catch (err) {
        if (!movable(err) || tried + 1 >= this.members.length) throw err;
      }
    }
  }

  override dropIdle(): void {
    for (const m of this.members) m.dropIdle();
  }

  override close(): void {
    super.close();
    for (const m of this.members) m.close();
  }

  /** Server `at` failed: the next one is current (unless another failure moved on already). */
  private moveOn(at: number): void {
    if (this.current === at) this.current = (at + 1) % this.members.length;
  }

  private member(i: number): JsonHttp {
    const m = this.members[i];
    if (!m) throw new Error(`no name server ${i}`);
    return m;
  }
}
