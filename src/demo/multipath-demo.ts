import { output, printJson } from '../terminal/output.js';
import { isRoot } from '../lab/lab.js';
import { contentSha256 } from './content.js';
import { multipathInProcess } from './multipath-inprocess.js';
import { multipathLab } from './multipath-lab.js';
import { MP_DEMO_LIMIT_MS, MP_DEMO_SIZE, type MultipathDemoNetwork } from './multipath-network.js';
import { renderPaths, type Snapshot } from './path-view.js';
import { DEMO_SEED } from './scenario.js';

export interface MultipathDemoResult {
  network: string;
  outcome: 'done' | 'failed' | 'stuck';
  bytes: number;
  shaOk: boolean;
  ms: number;
  code?: string;
  /** The most flowpaths seen open at once, and every path id that carried data. */
  maxPaths: number;
  pathsUsed: number[];
}

/**
 * `roam demo --multipath`: one roam download over Wi-Fi and cellular, flowpaths coming and
 * going on a schedule, a line per flowpath with its rate and RTT, live.
 */
export async function runMultipathDemo(
  options: { network?: 'auto' | 'lab' | 'inprocess' } = {},
): Promise<MultipathDemoResult> {
  const useLab = options.network === 'lab' || (options.network !== 'inprocess' && isRoot());
  const network: MultipathDemoNetwork = useLab ? await multipathLab() : await multipathInProcess();
  const tty = process.stdout.isTTY && !output.json;
  const header = `roam demo --multipath — one session over Wi-Fi and cellular, paths come and go\nnetwork: ${network.description}`;
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  const history: Snapshot[] = [];
  const events: string[] = [];
  const used = new Set<number>();
  let maxPaths = 0;
  let result: MultipathDemoResult = {
    network: network.description,
    outcome: 'stuck',
    bytes: 0,
    shaOk: false,
    ms: 0,
    maxPaths: 0,
    pathsUsed: [],
  };
  let drawn = 0;
  let lines = 0;
  try {
    await new Promise<void>((resolve) => {
      const limit = setTimeout(resolve, MP_DEMO_LIMIT_MS);
      const end = () => {
        clearTimeout(limit);
        resolve();
      };
      network.events.on('event', (text) =>
        events.push(`+${(elapsed() / 1000).toFixed(1)} s  ${text}`),
      );
      network.events.on('snapshot', (s) => {
        history.push({ ...s, at: elapsed() });
        if (history.length > 8) history.shift();
        result.bytes = s.bytes;
        maxPaths = Math.max(maxPaths, s.paths.filter((p) => p.state === 'open').length);
        for (const p of s.paths) if (p.received > 0) used.add(p.pathId);
        const screen = renderPaths(history, MP_DEMO_SIZE, events, header);
        if (tty) {
          process.stdout.write(`${drawn ? `\x1b[${drawn}A\x1b[J` : ''}${screen}\n`);
          drawn = screen.split('\n').length;
        } else if (!output.json && lines++ % 4 === 0) {
          process.stdout.write(`${screen.split('\n').slice(2).join('\n')}\n`);
        }
      });
      network.events.once('done', (r) => {
        result = {
          ...result,
          outcome: 'done',
          bytes: r.bytes,
          shaOk: r.bytes === MP_DEMO_SIZE && r.sha256 === contentSha256(DEMO_SEED, MP_DEMO_SIZE),
          ms: elapsed(),
        };
        end();
      });
      network.events.once('failed', (r) => {
        result = { ...result, outcome: 'failed', bytes: r.bytes, code: r.code, ms: elapsed() };
        end();
      });
      network.start();
    });
  } finally {
    await network.close();
  }
  result.maxPaths = maxPaths;
  result.pathsUsed = [...used].sort((a, b) => a - b);
  if (output.json) printJson(result);
  else {
    const verdict =
      result.outcome === 'done'
        ? `complete in ${(result.ms / 1000).toFixed(1)} s, SHA-256 ${result.shaOk ? 'matches' : 'MISMATCH'}`
        : result.outcome === 'failed'
          ? `FAILED (${result.code})`
          : 'STUCK: no end by the end of the run';
    process.stdout.write(
      `\nroam demo --multipath: ${(result.bytes / (1 << 20)).toFixed(1)} MB, ${verdict}; flowpaths that carried data: ${result.pathsUsed.join(', ')} (at most ${maxPaths} at once)\n`,
    );
  }
  return result;
}
