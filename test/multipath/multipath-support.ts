import { once } from 'node:events';
import type { TestContext } from 'node:test';
import { EmulatedLink, type EmulatedLinkOptions } from '../../src/lab/emulated-link/index.js';
import type { SchedulerName } from '../../src/multipath/scheduler.js';
import { connect, type ConnectOptions } from '../../src/session/client.js';
import type { ServerOptions } from '../../src/session/server.js';
import type { Session } from '../../src/session/session.js';
import { startServer } from '../session/session-support.js';

/** A path of the rig: an emulated link from the client to the server. */
export type PathSpec = Omit<EmulatedLinkOptions, 'target'>;

export const fast = { keepaliveIntervalMs: 100, deadAfterMs: 1500, retryIntervalMs: 100 };

export interface Rig {
  links: EmulatedLink[];
  client: Session;
  /** The server's end of the session. */
  peer: Session;
  /** Resolves once the client has `n` open flowpaths. */
  paths(n: number): Promise<void>;
  /** Starts one more emulated link to the server (not advertised), closed with the rig. */
  extraLink(spec: PathSpec): Promise<EmulatedLink>;
}

/**
 * A roam server on loopback reached through one emulated link per path: the client
 * connects through the first, the server advertises the others, so the client opens one
 * flowpath through each. Everything is closed when the test ends.
 */
export async function multipathRig(
  t: TestContext,
  specs: PathSpec[],
  opts: {
    scheduler?: SchedulerName;
    client?: Partial<ConnectOptions>;
    server?: ServerOptions;
  } = {},
): Promise<Rig> {
  let resolvePeer: (s: Session) => void = () => undefined;
  const peerReady = new Promise<Session>((resolve) => (resolvePeer = resolve));
  const links: EmulatedLink[] = [];
  const serverOpts: ServerOptions = { ...fast, scheduler: opts.scheduler, ...opts.server };
  const { server, port } = await startServer((s) => {
    s.on('error', () => undefined);
    resolvePeer(s);
  }, serverOpts);
  t.after(() => server.close());
  for (const [i, spec] of specs.entries()) {
    const link = await EmulatedLink.start({
      name: `path${i}`,
      ...spec,
      target: { host: '127.0.0.1', port },
    });
    links.push(link);
    t.after(() => link.close());
  }
  // The links exist only once the server listens: it advertises them from then on.
  server.setAdvertise(links.slice(1).map((l) => l.address));
  const first = links[0];
  if (!first) throw new Error('a rig needs at least one path');
  const client = connect({
    host: first.address.host,
    port: first.address.port,
    ...fast,
    scheduler: opts.scheduler,
    maxFlowpaths: 16,
    ...opts.client,
  });
  t.after(() => client.destroy());
  client.on('error', () => undefined);
  const peer = await peerReady;
  t.after(() => peer.destroy());
  return {
    links,
    client,
    peer,
    async paths(n: number) {
      while (client.paths.filter((p) => p.state === 'open').length < n)
        await once(client, 'path-up');
    },
    async extraLink(spec: PathSpec) {
      const link = await EmulatedLink.start({ ...spec, target: { host: '127.0.0.1', port } });
      t.after(() => link.close());
      return link;
    },
  };
}
