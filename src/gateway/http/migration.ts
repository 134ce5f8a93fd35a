import { RoamError, type RoamErrorCode } from '../../errors.js';
import { GatewayCode } from './errors.js';
import type { Exchange, ReRequest, SpliceKind } from './exchange.js';
import type { MigrationInfo, ResolvedOptions, SpliceInfo } from './options.js';
import type { Uplink } from './uplink.js';

export type MigrationStep =
  | { readonly kind: 'give-up'; readonly error: RoamError }
  /** The client already has every byte: just finish its framing. */
  | { readonly kind: 'complete' }
  | {
      readonly kind: 're-request';
      readonly plan: ReRequest;
      readonly uplink: Uplink;
      readonly info: MigrationInfo;
    };

/**
 * What to do when the live response of `ex` broke off on uplink `failed`: give up (the
 * client's connection then ends like a failed server's), finish, or re-request the rest
 * over another uplink. resume.ts has the rules; this adds attempts and uplink choice.
 */
export function nextMigrationStep(
  flow: number,
  ex: Exchange,
  failed: Uplink | undefined,
  cause: RoamError,
  opts: ResolvedOptions,
  /** An uplink with a spare connection ready for this flow: taken if it is not the failed one. */
  spare?: Uplink,
): MigrationStep {
  const giveUp = (code: RoamErrorCode, why: string): MigrationStep => ({
    kind: 'give-up',
    error: new RoamError(code, `${cause.message}; ${why}`),
  });
  if (ex.responseDone) return giveUp(GatewayCode.NotResumable, 'the upload was cut off');
  if (ex.attempts >= opts.maxResumeAttempts) {
    return giveUp(cause.code, `gave up after ${ex.attempts} re-requests`);
  }
  const plan = ex.plan(opts);
  if (plan.kind === 'refuse') return giveUp(GatewayCode.NotResumable, plan.reason);
  if (plan.kind === 'complete') return { kind: 'complete' };
  const warm = spare !== undefined && spare.id !== failed?.id ? spare : undefined;
  const uplink = warm ?? opts.pickUplink(failed === undefined ? [] : [failed.id]);
  if (uplink === undefined) return giveUp(GatewayCode.NoUplink, 'no other uplink');
  const info: MigrationInfo = {
    flow,
    from: failed?.id,
    to: uplink.id,
    offset: ex.writer.delivered,
    attempt: ex.attempts + 1,
    reason: cause.message,
    spare: warm !== undefined,
  };
  return { kind: 're-request', plan, uplink, info };
}

export function spliceInfo(
  flow: number,
  ex: Exchange,
  uplink: Uplink | undefined,
  kind: SpliceKind,
  now: number,
): SpliceInfo {
  return {
    flow,
    uplink: uplink?.id ?? '?',
    kind,
    offset: ex.writer.delivered,
    failedAt: ex.failedAt ?? now,
    splicedAt: now,
  };
}
