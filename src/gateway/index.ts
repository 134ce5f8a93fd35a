export { loadGatewayConfig, parseGatewayConfig } from './config/index.js';
export type { GatewayConfig, ProbeTarget, UplinkConfig } from './config/index.js';
export { fetchGatewayStatus, runningGatewayName } from './control/client.js';
export { Gateway, type GatewayDeps } from './daemon/gateway.js';
export { isHealthy, UplinkHealth, type UplinkState } from './health/state-machine.js';
export {
  pickCommand,
  resetCommand,
  setupCommands,
  teardownCommands,
  uplinkRouteCommands,
  uplinkRuleCommands,
} from './routing/plan.js';
export { gatewayDown, gatewayDownAll } from './routing/restore.js';
export type { GatewayStatus } from './status/model.js';
export { formatPrometheus } from './status/prometheus.js';
export { formatStatusText } from './status/text.js';
