/**
 * Milliseconds on CLOCK_MONOTONIC (process.hrtime), which every process on the machine shares
 * (lab namespaces do not change clocks): timestamps from the benchmark and from its workers in
 * other namespaces can be subtracted from one another.
 */
export function monoMs(): number {
  return Number(process.hrtime.bigint() / 1000n) / 1000;
}
