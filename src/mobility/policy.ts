import { BlockList, isIP } from 'node:net';
import { z } from 'zod';
import { RoamError } from '../errors.js';
import type { PathPolicy } from '../multipath/policy.js';
import type { LocalAddress } from './local-addresses.js';

/**
 * Which of the host's addresses a session may use, and how (the mobility manager's policy,
 * given as data). Pure: parsing, matching an address to its rule, and the session-level
 * path policy it maps to.
 *
 * - `primary`: carries data (the backup scheduler's preferred paths).
 * - `backup`: a flowpath is open, but carries data only when the primaries are down or
 *   cannot carry the demand (unless `backupOnDemand` is false: then only when they are down).
 * - `never`: no flowpath; one already open there is removed.
 */
export const ROLES = ['primary', 'backup', 'never'] as const;
export type InterfaceRole = (typeof ROLES)[number];

const ruleSchema = z
  .object({
    /** An interface name, or a glob over names (`*` any run of characters, `?` one). */
    interface: z.string().min(1).max(64).optional(),
    /** An address prefix in CIDR form (`10.2.0.0/16`, `2001:db8::/32`). */
    prefix: z.string().min(3).max(64).optional(),
    /** Default: `backup` when metered, else `primary`. */
    role: z.enum(ROLES).optional(),
    /** A network that costs money per byte (cellular). Default false. */
    metered: z.boolean().optional(),
    /** Relative cost: cheaper backups are brought in first. Default 1 if metered, else 0. */
    cost: z.number().min(0).max(1e9).optional(),
    /** Most bytes a flowpath on this interface sends while another path is alive. */
    byteCap: z.number().int().positive().optional(),
  })
  .strict()
  .refine((r) => r.interface !== undefined || r.prefix !== undefined, {
    message: 'a rule matches by interface, by prefix, or both',
  });

export const mobilityPolicySchema = z
  .object({
    /** First matching rule wins. */
    rules: z.array(ruleSchema).max(256).default([]),
    /** Role of addresses no rule matches. Default `primary`. */
    default: z.enum(ROLES).default('primary'),
    /** Backups also come in when the primaries cannot carry the demand. Default true. */
    backupOnDemand: z.boolean().default(true),
    /** ... that is, when the primaries would need longer than this to send what waits. */
    demandMs: z.number().int().min(1).max(600_000).default(500),
  })
  .strict();

export type MobilityPolicyInput = z.input<typeof mobilityPolicySchema>;
export type PolicyRule = z.output<typeof ruleSchema>;

/** A parsed policy: the rules with their prefixes compiled. */
export interface MobilityPolicy {
  rules: PolicyRule[];
  default: InterfaceRole;
  backupOnDemand: boolean;
  demandMs: number;
  /** Compiled matchers, one per rule (same order). */
  readonly matchers: readonly ((a: LocalAddress) => boolean)[];
}

/** What the policy says about one address. */
export interface AddressVerdict {
  role: InterfaceRole;
  cost: number;
  metered: boolean;
  byteCap: number | undefined;
  /** Index of the matching rule, or -1 for the default. */
  rule: number;
}

/** Validates a policy (from a file, an API call); a bad one is a ROAM_BAD_INPUT naming the field. */
export function parsePolicy(input: unknown): MobilityPolicy {
  const parsed = mobilityPolicySchema.safeParse(input ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'policy';
    throw new RoamError('ROAM_BAD_INPUT', `mobility policy: ${where}: ${issue?.message}`);
  }
  const rules = parsed.data.rules;
  const matchers = rules.map((rule, i) => compileRule(rule, `rules.${i}`));
  return { ...parsed.data, rules, matchers };
}

function compileRule(rule: PolicyRule, where: string): (a: LocalAddress) => boolean {
  const name = rule.interface === undefined ? undefined : globToRegExp(rule.interface);
  const prefix = rule.prefix === undefined ? undefined : compilePrefix(rule.prefix, where);
  return (a) => (name ? name.test(a.interface) : true) && (prefix ? prefix(a) : true);
}

/** `wl*` → /^wl.*$/; every other character stands for itself. */
export function globToRegExp(glob: string): RegExp {
  let out = '';
  for (const ch of glob) {
    if (ch === '*') out += '.*';
    else if (ch === '?') out += '.';
    else out += ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

function compilePrefix(cidr: string, where: string): (a: LocalAddress) => boolean {
  const [net, lenText, extra] = cidr.split('/');
  const family = isIP(net ?? '');
  const len = Number(lenText);
  const max = family === 6 ? 128 : 32;
  if (
    family === 0 ||
    extra !== undefined ||
    lenText === undefined ||
    !/^\d+$/.test(lenText) ||
    len > max
  )
    throw new RoamError(
      'ROAM_BAD_INPUT',
      `mobility policy: ${where}.prefix: must be an address prefix such as 10.2.0.0/16, got ${cidr}`,
    );
  const list = new BlockList();
  const type = family === 6 ? 'ipv6' : 'ipv4';
  list.addSubnet(net as string, len, type);
  return (a) => a.family === family && list.check(a.address, type);
}

/** The role, cost and cap the policy gives one address. */
export function classify(policy: MobilityPolicy, address: LocalAddress): AddressVerdict {
  const index = policy.matchers.findIndex((m) => m(address));
  const rule = policy.rules[index];
  if (!rule) return { role: policy.default, cost: 0, metered: false, byteCap: undefined, rule: -1 };
  const metered = rule.metered ?? false;
  return {
    role: rule.role ?? (metered ? 'backup' : 'primary'),
    cost: rule.cost ?? (metered ? 1 : 0),
    metered,
    byteCap: rule.byteCap,
    rule: index,
  };
}

/** What a session should run with, given the addresses in use and their verdicts. */
export interface SessionPlan {
  /** 'backup' when some address in use is a backup; otherwise the session's own scheduler. */
  useBackupScheduler: boolean;
  pathPolicy: PathPolicy;
}

/**
 * Maps the verdicts onto the session's path policy (keyed by local address): primaries are
 * preferred, backups not; costs and caps per address.
 */
export function sessionPlan(
  policy: MobilityPolicy,
  addresses: readonly { address: string; verdict: AddressVerdict }[],
): SessionPlan {
  const prefer: string[] = [];
  const cost: Record<string, number> = {};
  const byteCap: Record<string, number> = {};
  let backups = false;
  for (const { address, verdict } of addresses) {
    if (verdict.role === 'never') continue;
    if (verdict.role === 'primary') prefer.push(address);
    else backups = true;
    cost[address] = verdict.cost;
    if (verdict.byteCap !== undefined) byteCap[address] = verdict.byteCap;
  }
  return {
    useBackupScheduler: backups,
    pathPolicy: {
      prefer,
      cost,
      byteCap,
      demandMs: policy.backupOnDemand ? policy.demandMs : Infinity,
    },
  };
}
