import { type Logger, pino } from 'pino';

export type { Logger };

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

let root: Logger | undefined;

/** Structured JSON logs on stderr, so stdout stays free for a command's own output. */
export function createLogger(level: LogLevel = 'warn'): Logger {
  return pino({ level, base: { pid: process.pid } }, pino.destination(2));
}

/** The process-wide logger; the CLI sets its level from --log-level before any command runs. */
export function rootLogger(): Logger {
  root ??= createLogger((process.env.ROAM_LOG_LEVEL as LogLevel | undefined) ?? 'warn');
  return root;
}

export function setRootLogLevel(level: LogLevel): void {
  rootLogger().level = level;
}
