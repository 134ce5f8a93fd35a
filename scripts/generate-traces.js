#!/usr/bin/env node
// Regenerates traces/*.trace (60 s each, fixed seeds) from the built generator:
//   npm run build && node scripts/generate-traces.js
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  formatTrace,
  generateTrace,
  TRACE_KINDS,
  traceMeanRateBps,
} from '../dist/src/lab/trace/index.js';

const outDir = join(import.meta.dirname, '..', 'traces');
for (const [i, kind] of TRACE_KINDS.entries()) {
  const trace = generateTrace(kind, { durationMs: 60_000, seed: 1 + i });
  const path = join(outDir, `${kind}.trace`);
  writeFileSync(path, formatTrace(trace));
  const mbps = (traceMeanRateBps(trace) / 1e6).toFixed(2);
  console.log(`${path}: ${trace.opportunitiesMs.length} opportunities, mean ${mbps} Mbit/s`);
}
