// Mobility building blocks: the host's addresses and their changes, and publishing them.
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
