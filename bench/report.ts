import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/package-root.js';

/** Where a benchmark ran: these machines are shared and noisy, so every result says. */
export function machine() {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
  };
}

/** Writes bench/results/NAME.json and replaces NAME's section in docs/benchmarks.md. */
export function publish(name: string, result: Record<string, unknown>, markdown: string): void {
  const root = packageRoot();
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  const full = { benchmark: name, date: new Date().toISOString(), machine: machine(), ...result };
  writeFileSync(
    join(root, 'bench', 'results', `${name}.json`),
    `${JSON.stringify(full, null, 2)}\n`,
  );
  const docPath = join(root, 'docs', 'benchmarks.md');
  let doc: string;
  try {
    doc = readFileSync(docPath, 'utf8');
  } catch {
    doc =
      '# Benchmarks\n\nThe latest figures of each benchmark, written by the benchmark itself (`npm run bench -- NAME`).\n';
  }
  const begin = `<!-- bench:${name}:begin -->`;
  const end = `<!-- bench:${name}:end -->`;
  const section = `${begin}\n${markdown.trim()}\n\n_Measured ${full.date} on ${full.machine.cores} × ${full.machine.cpu}, kernel ${full.machine.kernel}, Node ${full.machine.node}. Raw: bench/results/${name}.json._\n${end}`;
  const at = doc.indexOf(begin);
  const stop = doc.indexOf(end);
  doc =
    at >= 0 && stop > at
      ? doc.slice(0, at) + section + doc.slice(stop + end.length)
      : `${doc.trimEnd()}\n\n${section}\n`;
  writeFileSync(docPath, doc);
}
