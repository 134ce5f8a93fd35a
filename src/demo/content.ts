import { createHash } from 'node:crypto';

/**
 * Deterministic content for demo and benchmark transfers: both ends can make it, so the
 * receiver checks length and SHA-256 without the file crossing any other way.
 */
const BLOCK = 1 << 20;

function block(seed: string, index: number): Buffer {
  const out = Buffer.allocUnsafe(BLOCK);
  let state = createHash('sha256').update(`${seed}:${index}`).digest();
  for (let off = 0; off < BLOCK; off += 32) {
    state.copy(out, off);
    state = createHash('sha256').update(state).digest();
  }
  return out;
}

/** The content in chunks of at most 1 MiB, in order. */
export function* contentChunks(seed: string, size: number): Generator<Buffer> {
  for (let off = 0, i = 0; off < size; off += BLOCK, i++) {
    const b = block(seed, i);
    yield size - off < BLOCK ? b.subarray(0, size - off) : b;
  }
}

export function contentSha256(seed: string, size: number): string {
  const hash = createHash('sha256');
  for (const chunk of contentChunks(seed, size)) hash.update(chunk);
  return hash.digest('hex');
}
