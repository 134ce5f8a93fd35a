export {
  type AddressWatcher,
  type WatchAddressesOptions,
  watchAddresses,
  type WatchMode,
} from './address-watcher.js';
export type { AddressChange, LocalAddress } from './local-addresses.js';
export {
  type AddressSource,
  createMobilityManager,
  type ManagedSession,
  type ManagerClock,
  type ManagerState,
  MobilityManager,
  type MobilityManagerOptions,
  type PathEvent,
  type SlotState,
} from './mobility-manager.js';
export {
  type AddressVerdict,
  classify,
  type InterfaceRole,
  type MobilityPolicy,
  type MobilityPolicyInput,
  mobilityPolicySchema,
  parsePolicy,
  ROLES,
} from './policy.js';
