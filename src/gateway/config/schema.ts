import { z } from 'zod';
import { parseIpv4 } from '../../net/ipv4.js';

const ipv4 = z.string().refine((s) => parseIpv4(s) !== undefined, {
  message: 'must be an IPv4 address such as 10.0.0.1',
});
// Names end up in iptables chain names (28 characters at most) and state paths.
const shortName = z
  .string()
  .regex(/^[a-z0-9]{1,8}$/, { message: 'must be 1 to 8 lowercase letters or digits' });
const ifname = z
  .string()
  .regex(/^[A-Za-z0-9_.@-]{1,15}$/, { message: 'must be a Linux interface name (1-15 chars)' });
const hostPort = z.string().refine(
  (s) => {
    const m = /^(.+):(\d{1,5})$/.exec(s);
    return m !== null && parseIpv4(m[1] ?? '') !== undefined && Number(m[2]) <= 65535;
  },
  { message: 'must be IPV4:PORT such as 203.0.113.10:80' },
);

const uplinkSchema = z.strictObject({
  name: shortName,
  interface: ifname,
  gateway: ipv4,
  source: ipv4.optional(),
  weight: z.number().int().min(1).max(1000).default(1),
  cost: z.number().min(0).default(0),
});

export const gatewayConfigSchema = z
  .strictObject({
    name: shortName,
    lan: z.strictObject({ interface: ifname }),
    uplinks: z.array(uplinkSchema).min(1).max(16),
    probes: z
      .strictObject({
        targets: z.array(hostPort).min(1).max(16),
        intervalMs: z.number().int().min(10).max(60_000).default(100),
      })
      .optional(),
    health: z
      .strictObject({
        stallMs: z.number().int().min(50).max(600_000).default(1000),
        suspectMs: z.number().int().min(20).max(600_000).optional(),
        recoverProbes: z.number().int().min(1).max(100).default(3),
      })
      .default({ stallMs: 1000, recoverProbes: 3 }),
    http: z
      .strictObject({
        intercept: z.boolean().default(true),
        port: z.number().int().min(1).max(65535).default(3129),
        splice: z.boolean().default(true),
        spares: z.number().int().min(0).max(100_000).default(64),
      })
      .default({ intercept: true, port: 3129, splice: true, spares: 64 }),
    fastReset: z.boolean().default(true),
    routing: z
      .strictObject({
        tableBase: z.number().int().min(1).max(250_000_000).default(200),
        rulePriority: z.number().int().min(1).max(32_000).default(500),
        markShift: z.number().int().min(0).max(24).default(16),
      })
      .default({ tableBase: 200, rulePriority: 500, markShift: 16 }),
  })
  .superRefine((c, ctx) => {
    const seen = new Map<string, number>();
    c.uplinks.forEach((u, i) => {
      for (const [field, value] of [
        ['name', u.name],
        ['interface', u.interface],
      ] as const) {
        const key = `${field}:${value}`;
        if (seen.has(key)) {
          ctx.addIssue({
            code: 'custom',
            path: ['uplinks', i, field],
            message: `"${value}" is already used by uplinks[${seen.get(key)}]`,
          });
        } else seen.set(key, i);
      }
      if (u.interface === c.lan.interface) {
        ctx.addIssue({
          code: 'custom',
          path: ['uplinks', i, 'interface'],
          message: 'is the LAN interface',
        });
      }
    });
    const suspect = c.health.suspectMs;
    if (suspect !== undefined && suspect >= c.health.stallMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['health', 'suspectMs'],
        message: `must be below health.stallMs (${c.health.stallMs})`,
      });
    }
    const interval = c.probes?.intervalMs ?? 100;
    if (interval * 2 > c.health.stallMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['probes', 'intervalMs'],
        message: `must be at most half of health.stallMs (${c.health.stallMs}), or every gap between probes looks like a stall`,
      });
    }
  });

export type GatewayConfigInput = z.input<typeof gatewayConfigSchema>;
export type GatewayConfigParsed = z.output<typeof gatewayConfigSchema>;
