#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander';
import { LOG_LEVELS, type LogLevel, setRootLogLevel } from '../log/logger.js';
import { registerDemo } from './demo.js';
import { registerGateway } from './gateway.js';
import { registerLab } from './lab.js';
import { registerNames } from './names.js';
import { registerTunnel } from './tunnel.js';
import { fail, output } from './output.js';

const program = new Command('roam')
  .description('roam: connections that do not care which network you are on')
  .version('0.1.0')
  .addOption(
    new Option('--log-level <level>', 'structured log level (logs go to stderr)')
      .choices(LOG_LEVELS)
      .default('warn'),
  )
  .option('--json', 'print machine-readable JSON where a command reports state', false)
  .configureOutput({
    // One line on stderr for a usage error, like every other roam error.
    outputError: (text, write) =>
      write(`roam: ${text.replace(/^error: /, '').trim()} (see --help)\n`),
  })
  .exitOverride()
  .hook('preAction', (cmd) => {
    const opts = cmd.optsWithGlobals() as { logLevel: LogLevel; json: boolean };
    setRootLogLevel(opts.logLevel);
    output.json = opts.json;
  });

registerLab(program);
registerDemo(program);
registerNames(program);
registerGateway(program);
registerTunnel(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Commander has already printed its one-line message (or the help/version text).
    process.exit(err.exitCode === 0 ? 0 : 2);
  }
  fail(err);
}
