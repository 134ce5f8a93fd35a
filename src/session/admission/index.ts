// Admission control for session servers (issue 11): one module for the server, the relay
// and the exit. docs/session.md ("Admission control") says how to use it.
export {
  Admission,
  type AdmissionCounters,
  type AdmissionReport,
  type HelloVerdict,
} from './admission.js';
export { CookieJar, type CookieVerdict } from './cookie.js';
export { awaitEcho } from './echo.js';
export { AdmissionGate, type AdmissionSnapshot } from './gate.js';
export { UnconfirmedSweeper } from './sweeper.js';
export {
  type AdmissionOptions,
  admissionOptionsSchema,
  resolveAdmissionOptions,
  type ResolvedAdmissionOptions,
} from './options.js';
export { Pressure, type PressureState } from './pressure.js';
export { sourceKey } from './source.js';
export { AdmissionTable, type Standing, type Victim } from './table.js';
