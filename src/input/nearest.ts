/**
 * The valid name closest to a misspelt one (`connectTimeoutMS` → `connectTimeoutMs`), for
 * "did you mean" hints; undefined when nothing is close enough to be a likely typo.
 */
export function nearestName(given: string, valid: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of valid) {
    const d = editDistance(given.toLowerCase(), name.toLowerCase());
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  // A case-only difference counts as 0; beyond a third of the name it is another word.
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(given.length / 3))
    ? best
    : undefined;
}

/** Levenshtein distance, two rows. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}
