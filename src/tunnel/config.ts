import { isIPv4 } from 'node:net';
import { z } from 'zod';
import { RoamError } from '../errors.js';
import { MODES } from './control-message.js';

const ipv4 = z.string().refine((s) => isIPv4(s), 'must be an IPv4 address');
const cidr = z
  .string()
  .regex(
    /^(\d{1,3}\.){3}\d{1,3}\/([0-9]|[12][0-9]|3[0-2])$/,
    'must be IPv4/prefix, as 10.99.0.2/24',
  )
  .refine((s) => isIPv4(s.split('/')[0] ?? ''), 'must be an IPv4 address with a prefix');
const port = z.number().int().min(1).max(65535);
const name = z.string().regex(/^[a-z0-9]{1,8}$/, 'must be 1-8 of a-z 0-9');
const ifname = z.string().regex(/^[A-Za-z0-9_.-]{1,15}$/, 'must be an interface name');
const key = z.string().min(1);

const common = {
  name: name.default('roam'),
  /** The tun device's name. */
  device: ifname.default('roamtun0'),
  /** This end's address inside the tunnel, with the tunnel subnet's prefix. */
  address: cidr,
  /** 1280..9000: the outer path MTU minus 72 bytes of IP, UDP and tunnel headers. */
  mtu: z.number().int().min(1280).max(9000).default(1400),
  /** Base64 X25519 private key. */
  privateKey: key,
};

export const serveConfigSchema = z
  .object({
    ...common,
    listen: z.object({ ip: ipv4.nullable().default(null), port }).strict(),
    /** The interface NAT (MASQUERADE) sends tunnel traffic out of; null: no NAT. */
    natOut: ifname.nullable().default(null),
    peers: z
      .array(z.object({ publicKey: key, address: ipv4 }).strict())
      .min(1)
      .max(64),
  })
  .strict();

export const uplinkSchema = z
  .object({
    /** The interface the uplink's socket binds to (by its current IPv4 address). */
    interface: ifname,
    role: z.enum(['primary', 'backup']).default('primary'),
    cost: z.number().min(0).max(1e9).default(0),
    /**
     * Aggregate mode: the uplink's rate in kbit/s. Packets go where they would arrive first,
     * through a virtual queue draining at this rate behind the path's base delay.
     */
    weight: z.number().int().min(1).max(100_000_000).default(10_000),
  })
  .strict();

export const upConfigSchema = z
  .object({
    ...common,
    server: z.object({ ip: ipv4, port }).strict(),
    serverPublicKey: key,
    uplinks: z.array(uplinkSchema).min(1).max(8),
    mode: z.enum(MODES).default('best'),
    /** Destinations sent into the tunnel; default: everything (0.0.0.0/1 + 128.0.0.0/1). */
    routes: z.array(cidr).max(64).default([]),
    /** Rekey after this long (WireGuard: 120 s). */
    rekeyAfterMs: z.number().int().min(1000).max(120_000).default(120_000),
    /** Mean of the exponential gap between probes of a path (the seed's Exp(1) s). */
    probeMeanMs: z.number().int().min(10).max(60_000).default(1000),
    /** A path carrying data is probed (piggy-backed) this often. */
    busyProbeMs: z.number().int().min(10).max(10_000).default(100),
  })
  .strict();

export type ServeConfig = z.output<typeof serveConfigSchema>;
export type UpConfig = z.output<typeof upConfigSchema>;
export type Uplink = z.output<typeof uplinkSchema>;

export function parseConfig<T extends z.ZodType>(
  schema: T,
  input: unknown,
  where: string,
): z.output<T> {
  const r = schema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new RoamError(
      'ROAM_BAD_INPUT',
      `${where}: ${issue?.path.join('.') || 'config'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return r.data;
}
