import { isAbsolute, join, resolve } from 'node:path';
import { packageRoot } from '../../package-root.js';

export const BUILTIN_TRACES = ['lte-steady', 'fluctuating', 'outages'] as const;

/** A shipped trace by name, or a path relative to the topology file's folder. */
export function resolveTracePath(trace: string, baseDir: string): string {
  if ((BUILTIN_TRACES as readonly string[]).includes(trace)) {
    return join(packageRoot(), 'traces', `${trace}.trace`);
  }
  return isAbsolute(trace) ? trace : resolve(baseDir, trace);
}
