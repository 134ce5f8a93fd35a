import { RoamError } from '../../errors.js';
import { parseCidr, parseIpv4 } from '../../net/ipv4.js';
import { resolveTracePath } from '../topology/trace-path.js';
import { parseDuration, parseLoss, parseRate } from '../topology/units.js';

/**
 * A fault is what `roam lab fault LINK KIND [VALUE]` and a topology's schedule ask for,
 * parsed and validated once. Directions: `up` is a → b, `down` is b → a.
 *
 * - stall: silent black hole both ways (the wire drops every frame; no RST, no error)
 * - down / up: the interface on `side` goes down (errors at once for new connections,
 *   silence for existing ones); `up` brings both ends back, clears a stall and restores routes
 * - renumber [IP]: the `side` interface moves to a new address in its subnet (a move); with
 *   `announce`, the neighbour across the link learns the new address's MAC at once, as from
 *   the gratuitous ARP a host sends after DHCP (without it, the neighbour resolves it with ARP
 *   through the link's delay, which adds one RTT to the first connection)
 * - loss P, delay MS, jitter MS, rate R, trace FILE|none: changed at run time
 */
export type Direction = 'up' | 'down' | 'both';
export type Side = 'a' | 'b';

export type Fault =
  | { kind: 'stall'; direction: Direction }
  | { kind: 'down'; side: Side }
  | { kind: 'up' }
  | { kind: 'renumber'; side: Side; ip: string | undefined; announce: boolean }
  | { kind: 'loss'; direction: Direction; loss: number }
  | { kind: 'delay' | 'jitter'; direction: Direction; ms: number }
  | { kind: 'rate'; direction: Direction; bps: number }
  | { kind: 'trace'; direction: Direction; path: string | null };

export interface FaultOptions {
  side?: Side;
  direction?: Direction;
  /** renumber: tell the neighbour the new address's MAC (a gratuitous ARP). */
  announce?: boolean;
  /** Folder that relative trace paths are resolved from. */
  baseDir?: string;
}

function need(value: string | number | undefined, kind: string, example: string): string | number {
  if (value === undefined || value === '') {
    throw new RoamError(
      'ROAM_BAD_INPUT',
      `fault "${kind}" needs a value, e.g. \`${kind} ${example}\``,
    );
  }
  return value;
}

function unwrap(
  parsed: { ok: true; value: number } | { ok: false; error: string },
  kind: string,
): number {
  if (!parsed.ok) throw new RoamError('ROAM_BAD_INPUT', `fault "${kind}": ${parsed.error}`);
  return parsed.value;
}

export function parseFault(
  kind: string,
  value: string | number | undefined,
  options: FaultOptions = {},
): Fault {
  const direction = options.direction ?? 'both';
  const side = options.side ?? 'a';
  switch (kind) {
    case 'stall':
      return { kind: 'stall', direction };
    case 'down':
      return { kind: 'down', side };
    case 'up':
      return { kind: 'up' };
    case 'renumber': {
      if (
        value !== undefined &&
        (typeof value !== 'string' ||
          parseIpv4(value) === undefined ||
          parseCidr(`${value}/24`) === undefined)
      ) {
        throw new RoamError(
          'ROAM_BAD_INPUT',
          `fault "renumber": ${JSON.stringify(value)} is not an IPv4 address`,
        );
      }
      return { kind: 'renumber', side, ip: value, announce: options.announce === true };
    }
    case 'loss':
      return { kind: 'loss', direction, loss: unwrap(parseLoss(need(value, kind, '0.02')), kind) };
    case 'delay':
    case 'jitter':
      return { kind, direction, ms: unwrap(parseDuration(need(value, kind, '40ms')), kind) };
    case 'rate':
      return { kind: 'rate', direction, bps: unwrap(parseRate(need(value, kind, '8mbit')), kind) };
    case 'trace': {
      const v = String(need(value, kind, 'lte-steady'));
      return {
        kind: 'trace',
        direction,
        path: v === 'none' ? null : resolveTracePath(v, options.baseDir ?? process.cwd()),
      };
    }
    default:
      throw new RoamError(
        'ROAM_BAD_INPUT',
        `unknown fault "${kind}"; use one of stall, down, up, renumber, loss, delay, jitter, rate, trace`,
      );
  }
}

export function describeFault(link: string, fault: Fault): string {
  switch (fault.kind) {
    case 'stall':
      return `${link}: stall (${fault.direction})`;
    case 'down':
      return `${link}: side ${fault.side} down`;
    case 'up':
      return `${link}: up`;
    case 'renumber':
      return `${link}: renumber side ${fault.side}${fault.ip ? ` to ${fault.ip}` : ''}${fault.announce ? ', announced' : ''}`;
    case 'loss':
      return `${link}: loss ${fault.loss} (${fault.direction})`;
    case 'delay':
    case 'jitter':
      return `${link}: ${fault.kind} ${fault.ms} ms (${fault.direction})`;
    case 'rate':
      return `${link}: rate ${fault.bps} bit/s (${fault.direction})`;
    case 'trace':
      return `${link}: trace ${fault.path ?? 'none'} (${fault.direction})`;
  }
}
