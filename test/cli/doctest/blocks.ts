/**
 * Code blocks of a Markdown document, as the doc-tests see them. Pure.
 *
 * The fence's info string says what a block is: its language, then optional words.
 * - ```sh (or bash): commands, run in order in one shell per document (`set -euo pipefail`).
 * - ```console: `$ command` lines, each followed by the output it must print (stdout and
 *   stderr together); a line `...` stands for any number of lines, and `...` inside a line
 *   for any text (a version number, a time).
 * - ```ts (or typescript): compiled with the project's strictness and run with node, after
 *   the blocks above it; `import … from 'roam'` is this package.
 * - `no-run` after the language: shown, deliberately never run (a synopsis with
 *   placeholders, a fragment, a command for a real network or host). Say why after it.
 * - `needs-root` after the language: run only as root (the lab); skipped otherwise, like
 *   the lab tests.
 * Any other language (yaml, json, text, none) is data, not run.
 */
export type BlockKind = 'sh' | 'console' | 'ts';

export interface DocBlock {
  kind: BlockKind;
  /** 1-based line of the opening fence. */
  line: number;
  body: string;
  needsRoot: boolean;
}

export interface ConsoleStep {
  command: string;
  expected: string[];
}

const KINDS: Record<string, BlockKind> = {
  sh: 'sh',
  bash: 'sh',
  shell: 'sh',
  console: 'console',
  ts: 'ts',
  typescript: 'ts',
};

/** The runnable blocks of a document, and the fences that are not understood. */
export function docBlocks(markdown: string): { blocks: DocBlock[]; errors: string[] } {
  const lines = markdown.split('\n');
  const blocks: DocBlock[] = [];
  const errors: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})(.*)$/.exec(lines[i] ?? '');
    if (!open) continue;
    const fence = open[1] ?? '```';
    const words = (open[2] ?? '').trim().split(/\s+/).filter(Boolean);
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !(lines[i] ?? '').startsWith(fence); i++)
      body.push(lines[i] ?? '');
    const kind = KINDS[words[0] ?? ''];
    if (!kind || words.includes('no-run')) continue;
    const unknown = words.slice(1).filter((w) => w !== 'needs-root');
    if (unknown.length)
      errors.push(
        `line ${start + 1}: fence words ${unknown.join(' ')} not understood (use no-run or needs-root)`,
      );
    blocks.push({
      kind,
      line: start + 1,
      body: body.join('\n'),
      needsRoot: words.includes('needs-root'),
    });
  }
  return { blocks, errors };
}

/** A console block's commands with the output shown under each. */
export function consoleSteps(body: string): ConsoleStep[] {
  const steps: ConsoleStep[] = [];
  for (const line of body.split('\n')) {
    if (line.startsWith('$ ')) steps.push({ command: line.slice(2), expected: [] });
    else steps[steps.length - 1]?.expected.push(line);
  }
  return steps;
}

/** Whether `actual` lines are what the document shows (`...` matches any lines). */
export function outputMatches(expected: readonly string[], actual: readonly string[]): boolean {
  const [first, ...rest] = expected;
  if (first === undefined) return actual.length === 0;
  if (first === '...') {
    for (let k = 0; k <= actual.length; k++) if (outputMatches(rest, actual.slice(k))) return true;
    return false;
  }
  return (
    actual[0] !== undefined && lineMatches(first, actual[0]) && outputMatches(rest, actual.slice(1))
  );
}

function lineMatches(pattern: string, line: string): boolean {
  if (!pattern.includes('...')) return pattern === line;
  const parts = pattern.split('...').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('.*')}$`).test(line);
}
