// Which BENCH_* variables a benchmark's source reads that its --help does not list. The source
// is the benchmark's file and every module it imports from the same tree (bench/), followed
// recursively: a variable read in bench/multipath/lab.ts counts for each benchmark using it.
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const NAME = /(?<![A-Za-z0-9_])BENCH_[A-Z0-9_]+/g;
const LOCAL_IMPORT = /\bfrom\s+'(\.{1,2}\/[^']+)\.js'/g;

/** Every BENCH_* name in `file` and the local modules it imports under `root`, with where. */
export function variablesInSource(file: string, root: string): Map<string, string> {
  const found = new Map<string, string>();
  const seen = new Set<string>();
  const visit = (path: string) => {
    if (seen.has(path)) return;
    seen.add(path);
    const text = readFileSync(path, 'utf8');
    for (const m of text.matchAll(NAME))
      if (!found.has(m[0])) found.set(m[0], relative(root, path));
    for (const m of text.matchAll(LOCAL_IMPORT)) {
      const target = resolve(dirname(path), `${m[1] as string}.ts`);
      if (!relative(root, target).startsWith('..')) visit(target);
    }
  };
  visit(resolve(file));
  return found;
}

/** The names in the source that the help text does not list, each with the file it is in. */
export function undeclared(file: string, root: string, help: string): string[] {
  const listed = new Set(help.match(NAME) ?? []);
  return [...variablesInSource(file, root)]
    .filter(([name]) => !listed.has(name))
    .map(([name, where]) => `${name} (${where})`)
    .sort();
}

export const sourceOf = (root: string, name: string) => join(root, `${name}.ts`);
