export { isRoamError, RoamError } from './errors.js';
export { createLogger, type Logger, type LogLevel } from './log/logger.js';
