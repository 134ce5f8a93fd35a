import type { Command } from 'commander';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('see roam at work: a transfer over two emulated paths while faults hit them')
    .action(async () => {
      const { runDemo } = await import('../demo/demo.js');
      await runDemo();
    });
}
