/** The engine under test: two uplinks on loopback, a log that tests can read, events. */
import { connect, type Socket } from 'node:net';
import type { TestContext } from 'node:test';
import { pino } from 'pino';
import { HttpEngine } from '../../src/gateway/http/engine.js';
import type { FlowStats } from '../../src/gateway/http/flow-state.js';
import type {
  HttpEngineOptions,
  MigrationInfo,
  SpliceInfo,
} from '../../src/gateway/http/options.js';
import type { Uplink } from '../../src/gateway/http/uplink.js';

/** Two uplinks: two loopback source addresses (Linux routes all of 127/8 to lo). */
export const A: Uplink = { id: 'A', localAddress: '127.0.0.2' };
export const B: Uplink = { id: 'B', localAddress: '127.0.0.3' };

export interface LogLine {
  level: number;
  msg: string;
  code?: string;
  [key: string]: unknown;
}

export interface Gateway {
  engine: HttpEngine;
  port: number;
  url: (path: string) => string;
  /** Another listener of the same engine, relaying to another origin; returns its url(). */
  listen: (origin: { port: number }) => Promise<(path: string) => string>;
  /** Uplinks pickUplink will not offer. */
  down: Set<string>;
  /** Every upstream socket the engine opened, with its uplink. */
  upstreams: { uplink: string; socket: Socket }[];
  /** Final stats of every flow that closed. */
  closed: FlowStats[];
  /** Resolves with the stats of the n-th flow (0-based) to close. */
  flowClosed: (n: number) => Promise<FlowStats>;
  migrations: MigrationInfo[];
  splices: SpliceInfo[];
  logs: LogLine[];
}

/** An engine with uplinks A and B, listening on loopback, relaying to one origin. */
export async function startGateway(
  t: TestContext,
  origin: { port: number },
  opts: Partial<HttpEngineOptions> = {},
): Promise<Gateway> {
  const logs: LogLine[] = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) },
  );
  const closedWaiters = new Map<number, (s: FlowStats) => void>();
  const closed: FlowStats[] = [];
  const gw: Omit<Gateway, 'engine' | 'port' | 'url' | 'listen'> = {
    down: new Set(),
    upstreams: [],
    closed,
    flowClosed: (n) =>
      new Promise((resolve) => {
        const f = closed[n];
        if (f !== undefined) resolve(f);
        else closedWaiters.set(n, resolve);
      }),
    migrations: [],
    splices: [],
    logs,
  };
  const engine = new HttpEngine({
    pickUplink: (excluding) => [A, B].find((u) => !excluding.includes(u.id) && !gw.down.has(u.id)),
    connect: (req) => {
      const socket = connect({ host: req.host, port: req.port, localAddress: req.localAddress });
      gw.upstreams.push({ uplink: req.uplink.id, socket });
      return socket;
    },
    logger,
    onMigration: (m) => gw.migrations.push(m),
    onSplice: (s) => gw.splices.push(s),
    onFlowClosed: (f) => {
      closed.push(f);
      closedWaiters.get(closed.length - 1)?.(f);
    },
    ...opts,
  });
  const address = await engine.listen({ origin: { host: '127.0.0.1', port: origin.port } });
  t.after(() => engine.close());
  return {
    ...gw,
    engine,
    port: address.port,
    url: (path) => `http://127.0.0.1:${address.port}${path}`,
    listen: async (other) => {
      const a = await engine.listen({ origin: { host: '127.0.0.1', port: other.port } });
      return (path) => `http://127.0.0.1:${a.port}${path}`;
    },
  };
}
