import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { RoamError } from '../../errors.js';
import { parseOneLine, yamlErrorLine } from '../../input/issues.js';
import type { GatewayConfig, ProbeTarget } from './model.js';
import { gatewayConfigSchema } from './schema.js';

function parseTarget(text: string): ProbeTarget {
  const i = text.lastIndexOf(':');
  return { host: text.slice(0, i), port: Number(text.slice(i + 1)) };
}

/** Validates a configuration given as data; `source` names it in errors (ROAM_BAD_INPUT). */
export function parseGatewayConfig(input: unknown, source = 'gateway config'): GatewayConfig {
  const result = parseOneLine(gatewayConfigSchema, input, source);
  if (!result.ok) throw new RoamError('ROAM_BAD_INPUT', result.message);
  const c = result.data;
  return {
    name: c.name,
    lan: { interface: c.lan.interface },
    uplinks: c.uplinks.map((u) => ({ ...u, source: u.source })),
    probes: {
      targets: (c.probes?.targets ?? []).map(parseTarget),
      intervalMs: c.probes?.intervalMs ?? 100,
    },
    health: {
      stallMs: c.health.stallMs,
      suspectMs: c.health.suspectMs ?? Math.round(c.health.stallMs / 2),
      recoverProbes: c.health.recoverProbes,
    },
    http: { ...c.http },
    fastReset: c.fastReset,
    routing: { ...c.routing },
  };
}

/** Reads a YAML or JSON configuration file. */
export function loadGatewayConfig(file: string): GatewayConfig {
  return parseGatewayConfig(readGatewayConfigData(file), file);
}

/**
 * The file's data before validation, for `gateway up --config FILE` to lay its flags over
 * and then validate once, with the same schema `gateway validate` uses.
 */
export function readGatewayConfigData(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new RoamError('ROAM_BAD_INPUT', `cannot read ${file}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    throw new RoamError('ROAM_BAD_INPUT', yamlErrorLine(file, err));
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data))
    throw new RoamError('ROAM_BAD_INPUT', `${file}: must be a mapping (name:, lan:, uplinks: ...)`);
  return data as Record<string, unknown>;
}

/** `name=a,interface=wwan0,gateway=10.0.0.1,weight=2` (the --uplink flag) → an uplink object. */
export function parseUplinkFlag(text: string): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const pair of text.split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw new RoamError('ROAM_BAD_INPUT', `--uplink ${text}: "${pair}" is not key=value`);
    }
    const key = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    out[key] = key === 'weight' || key === 'cost' ? Number(value) : value;
  }
  return out;
}
