import {
  parseGatewayConfig,
  parseUplinkFlag,
  readGatewayConfigData,
} from '../gateway/config/load.js';
import type { GatewayConfig } from '../gateway/config/model.js';
import { intFlag, usageError } from './flags.js';

export interface GatewayUpFlags {
  config?: string;
  name?: string;
  lan?: string;
  uplink: string[];
  probe: string[];
  probeIntervalMs?: string;
  stallMs?: string;
  httpPort?: string;
  intercept: boolean;
  splice: boolean;
  fastReset: boolean;
}

const mapping = (v: unknown): Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/**
 * `gateway up`'s configuration: the file's data (if any) with the flags laid over it,
 * validated once by the schema `gateway validate` uses, so both agree on every input.
 */
export function gatewayConfigFromFlags(o: GatewayUpFlags): GatewayConfig {
  if (o.config === undefined && o.name === undefined && o.lan === undefined && !o.uplink.length)
    throw usageError(
      'gateway up needs --config FILE, or --name NAME --lan IFNAME --uplink SPEC (see roam gateway up --help)',
    );
  const data: Record<string, unknown> = o.config ? { ...readGatewayConfigData(o.config) } : {};
  if (o.name !== undefined) data.name = o.name;
  if (o.lan !== undefined) data.lan = { ...mapping(data.lan), interface: o.lan };
  if (o.uplink.length) data.uplinks = o.uplink.map(parseUplinkFlag);
  if (o.probe.length || o.probeIntervalMs !== undefined) {
    const probes = { ...mapping(data.probes) };
    if (o.probe.length) probes.targets = o.probe;
    if (o.probeIntervalMs !== undefined)
      probes.intervalMs = intFlag('--probe-interval-ms', o.probeIntervalMs, {
        min: 10,
        max: 60_000,
        unit: 'ms',
      });
    data.probes = probes;
  }
  if (o.stallMs !== undefined)
    data.health = {
      ...mapping(data.health),
      stallMs: intFlag('--stall-ms', o.stallMs, { min: 50, max: 600_000, unit: 'ms' }),
    };
  const http = { ...mapping(data.http) };
  if (o.httpPort !== undefined)
    http.port = intFlag('--http-port', o.httpPort, { min: 1, max: 65535, unit: 'port' });
  if (!o.intercept) http.intercept = false;
  if (!o.splice) http.splice = false;
  if (Object.keys(http).length) data.http = http;
  if (!o.fastReset) data.fastReset = false;
  return parseGatewayConfig(data, o.config ?? 'flags');
}
