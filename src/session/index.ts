export { connect, type ConnectOptions } from './client.js';
export type { FlowpathInfo } from './flowpath.js';
export {
  defaultSessionOptions,
  type Endpoint,
  type SessionOptions,
  type SocketFactory,
} from './options.js';
export { createServer, RoamServer, type ServerOptions } from './server.js';
export {
  type MultipathSessionOptions,
  type PathPolicy,
  Session,
  type SessionState,
} from './session.js';
export type { SchedulerName } from '../multipath/scheduler.js';
export { type ClientTlsOptions, publicKeyPin, type ServerTlsOptions } from './tls.js';
export type { NamesOption } from './names/locator.js';
export { publishServerName, type ServerNameOptions } from './names/server-name.js';
export {
  admissionOptionsSchema,
  type AdmissionOptions,
  type AdmissionReport,
  type AdmissionSnapshot,
} from './admission/index.js';
