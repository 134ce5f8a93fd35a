import { parseTopology } from '../../../src/lab/topology/load.js';
import type { Topology } from '../../../src/lab/topology/model.js';

// The bus of the paper in the lab:
//
//   client ── lan ── gateway ─ upa ─ carrier-a (NAT) ─ neta ─┐
//                           └─ upb ─ carrier-b (NAT) ─ netb ─ origin
//
// The gateway's uplinks have no default route and no NAT of their own: `roam gateway up`
// sets up routing, NAT and interception itself (in every compared mode, roam-gateway.ts), and
// restores the namespace when it stops. The whole path delay sits on the uplinks, so client ↔
// origin and gateway ↔ origin both see the configured RTT. Each origin address (203.0.113.10,
// nginx; 198.51.100.10, the Node origins) is reachable through either carrier: each carrier
// routes the other's subnet to the origin's other interface, which Linux accepts (weak host
// model).

export const ORIGIN = '203.0.113.10';
/** The origin's second address: the Node origins listen here, on port 80 too. */
export const ORIGIN2 = '198.51.100.10';
export const CLIENT = '192.168.50.10';
export const LAN_GW = '192.168.50.1';
export const UPLINK_A = { id: 'A', link: 'upa', localAddress: '100.64.1.2', next: '100.64.1.1' };
export const UPLINK_B = { id: 'B', link: 'upb', localAddress: '100.64.2.2', next: '100.64.2.1' };

export interface GatewayLabOptions {
  /** Client ↔ origin round trip, ms (split over the uplinks' two directions). */
  rttMs: number;
  /** Each uplink's rate, both ways, e.g. '100mbit'; default unlimited. */
  rate?: string;
  name?: string;
}

export function gatewayTopology(opts: GatewayLabOptions): Topology {
  const uplink = {
    delay: `${opts.rttMs / 2}ms`,
    ...(opts.rate === undefined ? {} : { rate: opts.rate }),
  };
  return parseTopology({
    name: opts.name ?? 'gateway-clients',
    hosts: {
      client: {},
      gateway: { forward: true },
      'carrier-a': { forward: true, routes: [{ to: '198.51.100.0/28', via: ORIGIN }] },
      'carrier-b': { forward: true, routes: [{ to: '203.0.113.0/28', via: ORIGIN2 }] },
      origin: {},
    },
    links: [
      {
        name: 'lan',
        a: { host: 'client', ip: `${CLIENT}/24`, gateway: LAN_GW, kind: 'wifi' },
        b: { host: 'gateway', ip: `${LAN_GW}/24` },
      },
      {
        name: 'upa',
        a: {
          host: 'gateway',
          ip: `${UPLINK_A.localAddress}/24`,
          kind: 'cellular',
        },
        b: { host: 'carrier-a', ip: `${UPLINK_A.next}/24` },
        ...uplink,
      },
      {
        name: 'upb',
        a: {
          host: 'gateway',
          ip: `${UPLINK_B.localAddress}/24`,
          kind: 'cellular',
        },
        b: { host: 'carrier-b', ip: `${UPLINK_B.next}/24` },
        ...uplink,
      },
      {
        name: 'neta',
        a: { host: 'carrier-a', ip: '203.0.113.1/28', nat: true },
        b: { host: 'origin', ip: `${ORIGIN}/28` },
      },
      {
        name: 'netb',
        a: { host: 'carrier-b', ip: '198.51.100.1/28', nat: true },
        b: { host: 'origin', ip: `${ORIGIN2}/28` },
      },
    ],
  });
}
