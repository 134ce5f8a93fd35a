export type { Clock } from '../../clock/clock.js';
export { systemClock } from '../../clock/clock.js';
export { HttpEngine, type ListenOptions } from './engine.js';
export { GatewayCode } from './errors.js';
export type { Flow } from './flow.js';
export { type FlowState, type FlowStats, nextState } from './flow-state.js';
export {
  defaultOptions,
  type HttpEngineOptions,
  type MigrationInfo,
  type SpliceInfo,
} from './options.js';
export { type RequestEvent, RequestParser } from './request-parser.js';
export { type ResponseEvent, ResponseParser } from './response-parser.js';
export type { ConnectFn, ConnectRequest, HostPort, PickUplink, Uplink } from './uplink.js';
