import { createCipheriv, createHash } from 'node:crypto';

/**
 * Deterministic content for demo and benchmark transfers: both ends can make it, so the
 * receiver checks length and SHA-256 without the file crossing any other way. It is an
 * AES-128-CTR keystream keyed by the seed: cheap to make (GB/s), and incompressible.
 */
const BLOCK = 1 << 20;
const ZEROS = Buffer.alloc(BLOCK);

/** The content in chunks of at most 1 MiB, in order. */
export function* contentChunks(seed: string, size: number): Generator<Buffer> {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
  for (let off = 0; off < size; off += BLOCK) {
    yield cipher.update(size - off < BLOCK ? ZEROS.subarray(0, size - off) : ZEROS);
  }
}

export function contentSha256(seed: string, size: number): string {
  const hash = createHash('sha256');
  for (const chunk of contentChunks(seed, size)) hash.update(chunk);
  return hash.digest('hex');
}
