// The package root: `import { connect, createServer } from 'roam'`.
export { isRoamError, RoamError } from './errors.js';
export { configureLogging, createLogger, type Logger, type LogLevel } from './log/logger.js';
export * from './session/index.js';
export { Lab, type LabUpOptions } from './lab/lab.js';
export { EmulatedLink, type EmulatedLinkOptions } from './lab/emulated-link/index.js';
export {
  generateKeyPair,
  type KeyPair,
  NamesClient,
  type NamesClientOptions,
  type NameRecord,
} from './names/index.js';
export {
  fetchGatewayStatus,
  Gateway,
  type GatewayConfig,
  type GatewayStatus,
  loadGatewayConfig,
  parseGatewayConfig,
} from './gateway/index.js';
export { HttpEngine, type HttpEngineOptions } from './gateway/http/index.js';
export * from './mobility/index.js';
