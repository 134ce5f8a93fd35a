import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { RoamError } from '../errors.js';
import { packageRoot } from '../package-root.js';

/** Per-direction parameters in the native units (microseconds). */
export interface NativeDirectionParams {
  delayUs: number;
  jitterUs: number;
  loss: number;
  stall: boolean;
  /** Frames held in this direction in all stages; drop-tail beyond. Default 65536. */
  holdLimitPackets?: number;
  /** Frames waiting for trace opportunities; drop-tail beyond. Default 65536. */
  queueLimitPackets?: number;
  trace: { opportunitiesMs: readonly number[]; periodMs: number } | null;
}

export interface NativeDirectionStats {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  dropLoss: number;
  dropStall: number;
  dropQueue: number;
  /** Frames the output fd refused with an error other than EAGAIN (or out of memory). */
  dropError: number;
  /** Frames currently held in this direction. */
  held: number;
  /** Nonzero once reading this direction's input stopped on that errno (e.g. device deleted). */
  readErrno: number;
}

export interface NativeDelayLine {
  set(direction: 'ab' | 'ba', params: NativeDirectionParams): void;
  stats(): { ab: NativeDirectionStats; ba: NativeDirectionStats };
  /** Stops and joins the thread, frees held frames; idempotent. Does not close the fds. */
  close(): void;
}

export interface RoamNative {
  /** Throws an Error with `code` = errno name (EPERM...), `errno` and `syscall` = failing step. */
  openTun(
    name: string,
    tap: boolean,
    netnsPath: string | null,
    txQueueLen?: number,
  ): { fd: number; name: string };
  /** getsockopt(SO_ORIGINAL_DST) on a connection redirected by iptables REDIRECT/DNAT. */
  getOriginalDst(fd: number): { address: string; port: number };
  /** Bytes waiting in a socket's receive queue (ioctl FIONREAD). */
  pendingInput(fd: number): number;
  /** Sends one TCP ACK segment with a forged source through a raw socket, SO_MARK = mark (root). */
  sendTcpAck(
    src: string,
    sport: number,
    dst: string,
    dport: number,
    seq: number,
    ack: number,
    mark: number,
  ): void;
  DelayLine: new (
    fdA: number,
    fdB: number,
    ab: NativeDirectionParams,
    ba: NativeDirectionParams,
    seed?: number,
  ) => NativeDelayLine;
}

let cached: RoamNative | undefined;

/** Loads build/Release/roam_native.node once; ROAM_NATIVE_MISSING if it was never built. */
export function loadNative(): RoamNative {
  if (cached) return cached;
  const root = packageRoot();
  const path = join(root, 'build', 'Release', 'roam_native.node');
  if (!existsSync(path)) {
    throw new RoamError(
      'ROAM_NATIVE_MISSING',
      `native addon not found at ${path}; run npm ci (or npm run install, which runs node-gyp rebuild) in ${root}`,
    );
  }
  cached = createRequire(import.meta.url)(path) as RoamNative;
  return cached;
}
