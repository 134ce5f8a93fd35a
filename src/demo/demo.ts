import { output, printJson } from '../terminal/output.js';
import { isRoot } from '../lab/lab.js';
import { contentSha256 } from './content.js';
import { type PathRtt, renderLive, renderSummary, type TransferView } from './display.js';
import type { DemoNetwork } from './network.js';
import { inProcessNetwork } from './network-inprocess.js';
import { labNetwork } from './network-lab.js';
import { DEMO_FAULTS, DEMO_LIMIT_MS, DEMO_SEED, DEMO_TRANSFERS } from './scenario.js';

export interface DemoOptions {
  network?: 'auto' | 'lab' | 'inprocess';
}

/** Runs the demo story on the lab (root) or in-process links, live on the terminal. */
export async function runDemo(options: DemoOptions = {}): Promise<TransferView[]> {
  const useLab = options.network === 'lab' || (options.network !== 'inprocess' && isRoot());
  const network: DemoNetwork = useLab ? await labNetwork() : await inProcessNetwork();
  const tty = process.stdout.isTTY && !output.json;
  const header = `roam demo — two paths, a plain TCP and a roam download on each, faults on a schedule\nnetwork: ${network.description}`;
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  const views = new Map<string, TransferView>(
    DEMO_TRANSFERS.map((spec) => [spec.key, { spec, bytes: 0, rateBps: 0, outcome: undefined }]),
  );
  const rtts = new Map<string, PathRtt>();
  const events: string[] = [];
  const timers: NodeJS.Timeout[] = [];
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const checkAllDone = () => [...views.values()].every((v) => v.outcome) && finish();

  try {
    network.rtt.on('rtt', (path, ms) => rtts.set(path, { rttMs: ms, lastRttAt: elapsed() }));
    for (const [name, transfer] of await network.start()) {
      const v = views.get(name) as TransferView;
      const total = v.spec.path.sizeBytes;
      const expected = contentSha256(DEMO_SEED, total);
      transfer.on('progress', (bytes) => {
        v.bytes = bytes;
      });
      transfer.on('done', (r) => {
        v.bytes = r.bytes;
        v.outcome = {
          kind: 'done',
          ms: elapsed(),
          shaOk: r.bytes === total && r.sha256 === expected,
        };
        checkAllDone();
      });
      transfer.on('failed', (r) => {
        v.bytes = r.bytes;
        v.outcome = { kind: 'failed', ms: elapsed(), code: r.code };
        checkAllDone();
      });
    }
    for (const f of DEMO_FAULTS) {
      timers.push(
        setTimeout(() => {
          events.push(`+${(f.atMs / 1000).toFixed(1)} s  ${f.label}`);
          network
            .fault(f.path, f.kind)
            .catch((err: Error) => events.push(`fault failed: ${err.message}`));
        }, f.atMs),
      );
    }
    timers.push(setTimeout(finish, DEMO_LIMIT_MS));
    // Rates from bytes over the last second, redrawn four times a second.
    const history = new Map<string, number[]>();
    let drawn = 0;
    const tick = setInterval(() => {
      for (const v of views.values()) {
        const h = history.get(v.spec.key) ?? [];
        h.push(v.bytes);
        if (h.length > 5) h.shift();
        history.set(v.spec.key, h);
        v.rateBps =
          h.length > 1 ? ((h[h.length - 1] ?? 0) - (h[0] ?? 0)) / ((h.length - 1) * 0.25) : 0;
      }
      const screen = renderLive([...views.values()], rtts, elapsed(), events, header);
      if (tty) {
        process.stdout.write(`${drawn ? `\x1b[${drawn}A\x1b[J` : ''}${screen}\n`);
        drawn = screen.split('\n').length;
      } else if (!output.json && Math.round(elapsed() / 250) % 4 === 0) {
        process.stdout.write(`${screen.split('\n').slice(2).join('\n')}\n`);
      }
    }, 250);
    timers.push(tick);
    await finished;
  } finally {
    for (const t of timers) clearTimeout(t);
    await network.close();
  }
  const result = [...views.values()];
  if (output.json) printJson({ network: network.description, paths: result });
  else process.stdout.write(renderSummary(result, network.description));
  return result;
}
