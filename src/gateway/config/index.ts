export { loadGatewayConfig, parseGatewayConfig, parseUplinkFlag } from './load.js';
export type { GatewayConfig, ProbeTarget, UplinkConfig } from './model.js';
