/**
 * The sliding anti-replay window of RFC 6479 (as WireGuard's): a counter is fresh if it is
 * above the highest seen, or within WINDOW_BITS below it and not seen yet. Memory is fixed
 * (a ring of 64-bit blocks), whatever the input. native/tunnel.c has the same algorithm on
 * the data path; this one is the reference its tests and the TypeScript side use.
 *
 * Paths of different RTT deliver out of order; the window must cover the packets sent on the
 * fast path during the slow path's extra delay (8192 packets: 60 ms at 1.6 Gbit/s).
 */
export const WINDOW_BLOCKS = 128;
export const WINDOW_BITS = (WINDOW_BLOCKS - 1) * 64;
const BLOCK_BITS = 64n;

export class ReplayWindow {
  #blocks = new BigUint64Array(WINDOW_BLOCKS);
  #highest = -1n;

  get highest(): bigint {
    return this.#highest;
  }

  /** True (and remembered) if `counter` was never accepted and is not too old. */
  accept(counter: bigint): boolean {
    if (counter < 0n || counter >= 1n << 64n) return false;
    const block = counter / BLOCK_BITS;
    if (counter > this.#highest) {
      const top = this.#highest < 0n ? -1n : this.#highest / BLOCK_BITS;
      const advance = block - top;
      const clear = advance > BigInt(WINDOW_BLOCKS) ? WINDOW_BLOCKS : Number(advance);
      for (let i = 1; i <= clear; i++) {
        this.#blocks[Number((top + BigInt(i)) % BigInt(WINDOW_BLOCKS))] = 0n;
      }
      this.#highest = counter;
    } else if (this.#highest - counter > BigInt(WINDOW_BITS)) {
      return false;
    }
    const index = Number(block % BigInt(WINDOW_BLOCKS));
    const bit = 1n << (counter % BLOCK_BITS);
    const old = this.#blocks[index] ?? 0n;
    if ((old & bit) !== 0n) return false;
    this.#blocks[index] = old | bit;
    return true;
  }
}
