// `npm run bench -- NAME`: runs bench/NAME.ts (compiled) and lists the benchmarks otherwise.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.js') && !['run.js', 'report.js'].includes(f))
  .map((f) => f.slice(0, -3));
const name = process.argv[2];
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- NAME   (benchmarks: ${available.join(', ')})`);
  process.exit(2);
}
await import(join(here, `${name}.js`));
