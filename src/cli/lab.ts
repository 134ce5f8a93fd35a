import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { type Command, Option } from 'commander';
import { RoamError } from '../errors.js';
import { runSchedule } from '../lab/fault/schedule.js';
import { Lab } from '../lab/lab.js';
import { type LabStatus, labStatus } from '../lab/status.js';
import { teardownAllSync } from '../lab/teardown.js';
import { loadTopology } from '../lab/topology/load.js';
import type { DirectionSpec } from '../lab/topology/model.js';
import { formatRate } from '../lab/topology/units.js';
import { jsonOption, output, printJson } from './output.js';

function describeDirection(d: DirectionSpec): string {
  const parts = [formatRate(d.rateBps), `${d.delayMs}ms`];
  if (d.jitterMs) parts.push(`±${d.jitterMs}ms`);
  if (d.loss) parts.push(`loss ${+(d.loss * 100).toFixed(3)}%`);
  if (d.trace) parts.push(`trace ${d.trace}`);
  return parts.join(' ');
}

function printStatus(s: LabStatus): void {
  const lines = [
    `lab ${s.id} (${s.name}) up since ${s.createdAt}; wire daemon ${s.daemon.alive ? `pid ${s.daemon.pid}` : 'NOT RUNNING'}`,
    'hosts:',
  ];
  for (const h of s.hosts) {
    lines.push(`  ${h.name}  (netns ${h.namespace})`);
    for (const i of h.interfaces)
      lines.push(`    ${i.ifname.padEnd(12)} ${i.state.padEnd(5)} ${i.addresses.join(' ') || '-'}`);
  }
  lines.push('links:');
  for (const l of s.links) {
    lines.push(`  ${l.name}: ${l.a} ⇄ ${l.b}`);
    lines.push(`    up (a→b): ${describeDirection(l.up)}`);
    lines.push(`    down (b→a): ${describeDirection(l.down)}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

const labOption = () => new Option('--lab <id>', 'which lab, when several are up');

export function registerLab(program: Command): void {
  const lab = program
    .command('lab')
    .description(
      'network lab: namespaces and emulated links with rate, delay, loss, faults (root)',
    );

  lab
    .command('up')
    .addOption(jsonOption())
    .description('build a lab from a topology file (YAML or JSON) and leave it running')
    .argument('<file>', 'topology file')
    .action(async (file: string) => {
      const l = await Lab.up(file, { owned: false });
      if (output.json) printJson(await labStatus(l));
      else process.stdout.write(`${l.id}\n`);
    });

  lab
    .command('validate')
    .addOption(jsonOption())
    .description('check a topology file without building it (no root needed)')
    .argument('<file>', 'topology file')
    .action((file: string) => {
      const topo = loadTopology(file);
      if (output.json) printJson(topo);
      else
        process.stdout.write(
          `${file}: ok (${topo.hosts.length} hosts, ${topo.links.length} links, ${topo.schedule.length} scheduled faults)\n`,
        );
    });

  lab
    .command('status')
    .addOption(jsonOption())
    .description('hosts, interfaces, addresses and links of a running lab')
    .addOption(labOption())
    .action(async (opts: { lab?: string }) => {
      const s = await labStatus(Lab.attach(opts.lab));
      if (output.json) printJson(s);
      else printStatus(s);
    });

  lab
    .command('down')
    .addOption(jsonOption())
    .description('remove a lab: namespaces, interfaces, daemon, state')
    .addOption(labOption())
    .option('--all', 'remove every lab on this machine, including leftovers of crashed runs')
    .action(async (opts: { lab?: string; all?: boolean }) => {
      if (opts.all) {
        const removed = teardownAllSync();
        if (output.json) printJson({ removed });
        else
          process.stdout.write(
            removed.length ? `removed ${removed.join(' ')}\n` : 'nothing to remove\n',
          );
        return;
      }
      const l = Lab.attach(opts.lab);
      await l.down();
      if (output.json) printJson({ removed: [l.id] });
      else process.stdout.write(`removed ${l.id}\n`);
    });

  lab
    .command('exec')
    .description('run a command inside a host of the lab: roam lab exec HOST -- CMD [ARGS...]')
    .addOption(labOption())
    .argument('<host>', 'host name from the topology')
    .argument('<command...>', 'command and arguments (after --)')
    .action(async (host: string, command: string[], opts: { lab?: string }) => {
      const l = Lab.attach(opts.lab);
      // `ip netns exec` execs the command: the child is the command itself.
      const child = spawn('ip', ['netns', 'exec', l.ns(host), ...command], { stdio: 'inherit' });
      // Signals meant for the command reach it, and roam waits for it: nothing is orphaned.
      const forward = (signal: NodeJS.Signals) => child.kill(signal);
      for (const s of FORWARDED_SIGNALS) process.on(s, forward);
      const code = await new Promise<number>((res, rej) => {
        child.once('error', (err) =>
          rej(new RoamError('ROAM_LAB_COMMAND', `cannot run ip netns exec: ${err.message}`)),
        );
        child.on('exit', (c, signal) =>
          res(c ?? (signal ? 128 + (osConstants.signals[signal] ?? 0) : 1)),
        );
      }).finally(() => {
        for (const s of FORWARDED_SIGNALS) process.off(s, forward);
      });
      process.exitCode = code;
    });

  lab
    .command('fault')
    .addOption(jsonOption())
    .description(
      'inject a fault now: stall | down | up | renumber [IP] | loss P | delay MS | jitter MS | rate R | trace FILE|none',
    )
    .addOption(labOption())
    .argument('<link>', 'link name from the topology')
    .argument('<kind>', 'stall, down, up, renumber, loss, delay, jitter, rate or trace')
    .argument('[value]', 'the value for loss, delay, jitter, rate, trace, renumber')
    .addOption(
      new Option('--side <side>', 'which end for down and renumber')
        .choices(['a', 'b'])
        .default('a'),
    )
    .addOption(
      new Option(
        '--dir <direction>',
        'direction for stall, loss, delay, jitter, rate, trace (up = a→b)',
      )
        .choices(['up', 'down', 'both'])
        .default('both'),
    )
    .option(
      '--announce',
      'renumber: the neighbour learns the new address at once (as from a gratuitous ARP)',
    )
    .action(
      async (
        link: string,
        kind: string,
        value: string | undefined,
        opts: { lab?: string; side: 'a' | 'b'; dir: 'up' | 'down' | 'both'; announce?: boolean },
      ) => {
        const result = await Lab.attach(opts.lab).fault(link, kind, value, {
          side: opts.side,
          direction: opts.dir,
          announce: opts.announce,
        });
        if (output.json) printJson(result);
        else
          process.stdout.write(
            `${link}: ${kind}${value !== undefined ? ` ${value}` : ''}${result.to ? ` (${result.from} → ${result.to})` : ''}\n`,
          );
      },
    );

  lab
    .command('schedule')
    .addOption(jsonOption())
    .description(
      "run a fault schedule in the foreground: the lab's own (from its topology file) or another file's",
    )
    .addOption(labOption())
    .argument('[file]', 'a topology file whose `schedule:` to run')
    .action(async (file: string | undefined, opts: { lab?: string }) => {
      const l = Lab.attach(opts.lab);
      const events = file ? loadTopology(file).schedule : l.topology.schedule;
      const started = performance.now();
      const run = runSchedule(l, events, {
        onApplied: (r, e) => {
          const line = {
            atMs: Math.round(performance.now() - started),
            link: e.link,
            fault: e.kind,
            value: e.value,
            to: r.to,
          };
          process.stdout.write(
            output.json
              ? `${JSON.stringify(line)}\n`
              : `+${(line.atMs / 1000).toFixed(1)}s ${e.link} ${e.kind}${e.value !== undefined ? ` ${e.value}` : ''}\n`,
          );
        },
      });
      process.once('SIGINT', () => run.cancel());
      await run.done;
    });
}
