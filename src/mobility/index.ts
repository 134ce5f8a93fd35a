// Mobility: the host's addresses and their changes, publishing them to the name service, and
// the mobility manager that opens and closes flowpaths as networks come and go.
export {
  AddressWatcher,
  watchAddresses,
  type WatchAddressesOptions,
  type WatchMode,
} from './address-watcher.js';
export { type AddressChange, diffAddresses, type LocalAddress } from './local-addresses.js';
export {
  addressesFor,
  ifaceKind,
  NamePublisher,
  type NamePublisherOptions,
  type Published,
} from './name-publisher.js';
export {
  type AddressSource,
  createMobilityManager,
  type ManagedSession,
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
