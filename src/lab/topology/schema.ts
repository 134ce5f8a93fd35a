import { z } from 'zod';
import { parseFault } from '../fault/fault.js';
import { isReserved, parseCidr, parseIpv4, sameSubnet } from '../../net/ipv4.js';
import { parseDuration, parseLoss, parseRate } from './units.js';

/**
 * The topology file: hosts (each a network namespace), links (each an emulated wire
 * between two hosts' interfaces) and an optional fault schedule. Validation errors carry
 * the path of the offending field, e.g. `links[1].a.ip`.
 */

const NAME = /^[a-z][a-z0-9-]{0,15}$/;
const IFNAME = /^[a-zA-Z][a-zA-Z0-9_.-]{0,14}$/;

function unit(parse: (v: unknown) => { ok: true; value: number } | { ok: false; error: string }) {
  return z.union([z.number(), z.string()]).transform((value, ctx) => {
    const parsed = parse(value);
    if (!parsed.ok) {
      ctx.addIssue({ code: 'custom', message: parsed.error });
      return z.NEVER;
    }
    return parsed.value;
  });
}

const rate = unit(parseRate);
const duration = unit(parseDuration);
const loss = unit(parseLoss);

const ipv4 = z.string().refine((s) => parseIpv4(s) !== undefined, {
  message: 'must be an IPv4 address such as 10.1.0.1',
});

const endpointSchema = z.strictObject({
  host: z.string(),
  ifname: z
    .string()
    .regex(IFNAME, 'must be 1-15 characters: letters, digits, _ . - (a Linux interface name)')
    .optional(),
  ip: z
    .string()
    .refine((s) => parseCidr(s) !== undefined, {
      message: 'must be an IPv4 address with a prefix length 8..30, such as 10.1.0.2/24',
    })
    .refine((s) => {
      const c = parseCidr(s);
      return c === undefined || !isReserved(c);
    }, 'is the network or broadcast address of its subnet'),
  gateway: ipv4.optional(),
  nat: z.boolean().default(false),
  kind: z.enum(['wifi', 'cellular', 'ethernet', 'satellite', 'other']).default('ethernet'),
  metric: z.number().int().min(1).max(4000).optional(),
});

const directionSchema = z.strictObject({
  rate: rate.optional(),
  delay: duration.optional(),
  jitter: duration.optional(),
  loss: loss.optional(),
  trace: z.string().min(1).optional(),
});

const linkSchema = z.strictObject({
  name: z
    .string()
    .regex(NAME, 'must be 1-16 characters: lowercase letters, digits, - (start with a letter)'),
  a: endpointSchema,
  b: endpointSchema,
  rate: rate.optional(),
  delay: duration.optional(),
  jitter: duration.optional(),
  loss: loss.optional(),
  /** Both directions; `up:`/`down:` override it per direction like the other fields. */
  trace: z.string().min(1).optional(),
  queue: z.number().int().min(2).max(100_000).default(1000),
  up: directionSchema.optional(),
  down: directionSchema.optional(),
});

const hostSchema = z.strictObject({
  forward: z.boolean().default(false),
  routes: z
    .array(
      z.strictObject({
        to: z
          .string()
          .refine(
            (s) => parseCidr(s) !== undefined || s === 'default',
            'must be a CIDR such as 10.9.0.0/24 or "default"',
          ),
        via: ipv4,
      }),
    )
    .default([]),
});

const FAULTS = [
  'stall',
  'down',
  'up',
  'renumber',
  'loss',
  'delay',
  'jitter',
  'rate',
  'trace',
] as const;

const scheduleSchema = z.strictObject({
  at: duration,
  link: z.string(),
  fault: z.enum(FAULTS),
  value: z.union([z.string(), z.number()]).optional(),
  side: z.enum(['a', 'b']).default('a'),
  /** renumber: the neighbour learns the new address's MAC at once (a gratuitous ARP). */
  announce: z.boolean().default(false),
});

export const topologySchema = z
  .strictObject({
    name: z.string().max(64).default('lab'),
    hosts: z.record(
      z
        .string()
        .regex(
          NAME,
          'host names are 1-16 characters: lowercase letters, digits, - (start with a letter)',
        ),
      hostSchema.default({ forward: false, routes: [] }),
    ),
    links: z.array(linkSchema).min(1),
    schedule: z.array(scheduleSchema).default([]),
  })
  .superRefine((topo, ctx) => {
    const linkNames = new Set<string>();
    const ifnames = new Map<string, Set<string>>();
    const addresses = new Set<string>();
    topo.links.forEach((link, i) => {
      if (linkNames.has(link.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['links', i, 'name'],
          message: `duplicate link name "${link.name}"`,
        });
      }
      linkNames.add(link.name);
      for (const side of ['a', 'b'] as const) {
        const ep = link[side];
        const path = ['links', i, side];
        if (!(ep.host in topo.hosts)) {
          ctx.addIssue({
            code: 'custom',
            path: [...path, 'host'],
            message: `unknown host "${ep.host}"; declare it under hosts`,
          });
        }
        const ifname = ep.ifname ?? link.name;
        const taken = ifnames.get(ep.host) ?? new Set<string>();
        if (taken.has(ifname)) {
          ctx.addIssue({
            code: 'custom',
            path: [...path, 'ifname'],
            message: `host "${ep.host}" already has an interface "${ifname}"; set a distinct ifname`,
          });
        }
        taken.add(ifname);
        ifnames.set(ep.host, taken);
        const cidr = parseCidr(ep.ip);
        if (!cidr) continue;
        if (addresses.has(cidr.ip)) {
          ctx.addIssue({
            code: 'custom',
            path: [...path, 'ip'],
            message: `address ${cidr.ip} is used twice`,
          });
        }
        addresses.add(cidr.ip);
        if (ep.gateway !== undefined && !sameSubnet(cidr, ep.gateway)) {
          ctx.addIssue({
            code: 'custom',
            path: [...path, 'gateway'],
            message: `gateway ${ep.gateway} is not in ${ep.ip}'s subnet`,
          });
        }
      }
      if (link.a.host === link.b.host) {
        ctx.addIssue({
          code: 'custom',
          path: ['links', i, 'b', 'host'],
          message: 'a link must join two different hosts',
        });
      }
      const ca = parseCidr(link.a.ip);
      const cb = parseCidr(link.b.ip);
      if (ca && cb && (ca.prefixLen !== cb.prefixLen || !sameSubnet(ca, cb.ip))) {
        ctx.addIssue({
          code: 'custom',
          path: ['links', i, 'b', 'ip'],
          message: `${link.b.ip} is not in the same subnet as ${link.a.ip}`,
        });
      }
    });
    topo.schedule.forEach((event, i) => {
      if (!linkNames.has(event.link)) {
        ctx.addIssue({
          code: 'custom',
          path: ['schedule', i, 'link'],
          message: `unknown link "${event.link}"`,
        });
      }
      // The same parser `roam lab fault` and `roam lab schedule` use: what validates here
      // is what runs.
      try {
        parseFault(event.fault, event.value, { side: event.side, announce: event.announce });
      } catch (err) {
        ctx.addIssue({
          code: 'custom',
          path: ['schedule', i, 'value'],
          message: (err as Error).message,
        });
      }
    });
  });

export type TopologyInput = z.input<typeof topologySchema>;
export type TopologyParsed = z.output<typeof topologySchema>;
export type FaultKind = (typeof FAULTS)[number];
export const FAULT_KINDS: readonly FaultKind[] = FAULTS;
