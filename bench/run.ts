// `npm run bench -- NAME [--help] [flags]`: runs bench/NAME.ts (compiled) and lists the
// benchmarks otherwise. NAME --help lists the benchmark's flags and BENCH_* variables.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.js') && !['run.js', 'report.js'].includes(f))
  .map((f) => f.slice(0, -3))
  .sort();
const name = process.argv[2];
if (!name || name === '--help' || name === '-h') {
  console.log(
    `usage: npm run bench -- NAME [--help]\n\nbenchmarks:\n${available.map((b) => `  ${b}`).join('\n')}\n\n` +
      '`npm run bench -- NAME --help` lists its flags and BENCH_* environment variables.',
  );
  process.exit(0);
}
if (!available.includes(name)) {
  console.error(`unknown benchmark ${JSON.stringify(name)} (benchmarks: ${available.join(', ')})`);
  process.exit(2);
}
// The benchmark reads its own arguments from process.argv.slice(2), as when run directly.
process.argv.splice(2, 1);
await import(join(here, `${name}.js`));
