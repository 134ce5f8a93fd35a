import { type Command, Option } from 'commander';
import { jsonOption } from './output.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .addOption(jsonOption())
    .description('see roam at work: a transfer over two emulated paths while faults hit them')
    .addOption(
      new Option(
        '--network <kind>',
        'lab (namespaces, needs root), inprocess (loopback links), or auto',
      )
        .choices(['auto', 'lab', 'inprocess'])
        .default('auto'),
    )
    .option('--multipath', 'one multipath session, per-path rates live while paths come and go')
    .action(async (opts: { network: 'auto' | 'lab' | 'inprocess'; multipath?: boolean }) => {
      if (opts.multipath) {
        const { runMultipathDemo } = await import('../demo/multipath-demo.js');
        await runMultipathDemo({ network: opts.network });
        return;
      }
      const { runDemo } = await import('../demo/demo.js');
      await runDemo({ network: opts.network });
    });
}
