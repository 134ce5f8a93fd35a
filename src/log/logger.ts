import { type Logger, pino } from 'pino';

export type { Logger };

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

let root: Logger | undefined;

/** Structured JSON logs on stderr, so stdout stays free for a command's own output. */
export function createLogger(level: LogLevel = 'warn'): Logger {
  return pino({ level, base: { pid: process.pid } }, pino.destination(2));
}

/**
 * The process-wide logger. A library writes nothing an application did not ask for: it is
 * silent unless the application calls configureLogging, the environment sets
 * ROAM_LOG_LEVEL, or the CLI sets --log-level.
 */
export function rootLogger(): Logger {
  root ??= createLogger(envLevel() ?? 'silent');
  return root;
}

function envLevel(): LogLevel | undefined {
  const level = process.env.ROAM_LOG_LEVEL;
  return (LOG_LEVELS as readonly string[]).includes(level ?? '') ? (level as LogLevel) : undefined;
}

export function setRootLogLevel(level: LogLevel): void {
  rootLogger().level = level;
}

/**
 * Where roam's log lines go: the application's own pino logger (a child is fine), or
 * roam's JSON lines on stderr at a level.
 */
export function configureLogging(opts: { logger?: Logger; level?: LogLevel }): void {
  if (opts.logger) root = opts.logger;
  if (opts.level) setRootLogLevel(opts.level);
}
