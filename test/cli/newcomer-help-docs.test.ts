import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { packageRoot } from '../../src/package-root.js';

// Issue 18: every option in a command's `--help` is documented on a line of README.md or
// docs/ that shows that command (`roam lab fault … --announce`), and every option such a
// line shows exists in that command's `--help`.

const CLI = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');
const GLOBAL = new Set(['--help', '--version', '--json', '--log-level']);

function help(path: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, ...path, '--help'], { timeout: 30_000 }, (err, stdout) =>
      err ? reject(err) : resolve(stdout),
    );
  });
}

function section(text: string, title: string): string[] {
  const lines = text.split('\n');
  const start = lines.indexOf(`${title}:`);
  if (start < 0) return [];
  const out: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === '') break;
    out.push(line);
  }
  return out;
}

const flagsOf = (text: string) => [...text.matchAll(/--[a-z][a-z0-9-]*/g)].map((m) => m[0]);

/** Every command path (`lab fault`) with the long options its --help lists. */
async function commands(): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  const walk = async (path: string[]): Promise<void> => {
    const text = await help(path);
    const options = section(text, 'Options')
      .filter((l) => /^ {2}-/.test(l))
      .flatMap((l) => flagsOf(l.trim().split(/\s{2,}/)[0] ?? ''));
    out.set(path.join(' '), new Set(options));
    const subs = section(text, 'Commands')
      .filter((l) => /^ {2}[a-z]/.test(l))
      .map((l) => l.trim().split(/\s/)[0] ?? '')
      .filter((name) => name !== 'help');
    for (const sub of subs) await walk([...path, sub]);
  };
  await walk([]);
  return out;
}

/** Pieces of doc lines that show a command: `roam lab fault [--lab ID] LINK …`. */
function docSegments(
  known: Map<string, Set<string>>,
): { file: string; path: string; text: string }[] {
  const files = [
    'README.md',
    ...readdirSync(join(packageRoot(), 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => join('docs', f)),
  ];
  const out: { file: string; path: string; text: string }[] = [];
  for (const file of files) {
    for (const line of readFileSync(join(packageRoot(), file), 'utf8').split('\n')) {
      for (const m of line.matchAll(/\broam((?: [a-z][a-z-]*)+)/g)) {
        const rest = line.slice((m.index ?? 0) + 'roam'.length);
        // After ` -- ` come the inner command's own options (`roam lab exec H -- curl -o`).
        const text = rest.split(/`| #|&&|;| \| | -- |\broam /)[0] ?? '';
        const words = (m[1] ?? '').trim().split(' ');
        let path = '';
        for (let n = words.length; n > 0; n--) {
          const p = words.slice(0, n).join(' ');
          if (known.has(p)) {
            path = p;
            break;
          }
        }
        if (path) out.push({ file, path, text });
      }
    }
  }
  return out;
}

test('every option in --help is in the docs, and every documented option is in --help', async () => {
  const known = await commands();
  assert.ok(known.has('lab fault') && known.has('names watch') && known.has('gateway up'));
  const segments = docSegments(known);
  const readme = readFileSync(join(packageRoot(), 'README.md'), 'utf8');
  const missing: string[] = [];
  for (const [path, options] of known) {
    for (const flag of options) {
      if (flag === '--help') continue;
      const shown =
        path === ''
          ? readme.includes(flag) // the global options: README says what every command takes
          : segments.some((s) => s.path === path && flagsOf(s.text).includes(flag));
      if (!shown) missing.push(`roam ${path} ${flag}`.replace(/ +/g, ' '));
    }
  }
  assert.deepEqual(missing, [], 'options in --help that no doc line for the command shows');
  const unknown: string[] = [];
  for (const s of segments) {
    const options = known.get(s.path) ?? new Set();
    for (const flag of flagsOf(s.text))
      if (!options.has(flag) && !GLOBAL.has(flag))
        unknown.push(`${s.file}: roam ${s.path} ${flag}`);
  }
  assert.deepEqual(unknown, [], 'options the docs show that --help does not list');
});
