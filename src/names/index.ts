// roam names: the public API (docs/names-api.md).
export { NamesClient, type NamesClientOptions, type PublishFields } from './client/client.js';
export type { NameChange, NameWatch, WatchOptions } from './client/watch.js';
export { ManualClock, type NamesClock, systemClock } from './clock.js';
export { NAMES_ERRORS, type NamesErrorCode } from './codes.js';
export { canonicalJson } from './canonical.js';
export { generateKeyPair, type KeyPair, keyPairFromPem, privateKeyPem } from './keys.js';
export { parseName, type ParsedName } from './name.js';
export type { Address, Delegation, Kind, NameRecord } from './record.js';
export { makeDelegation, signHeartbeat, signRecord } from './sign.js';
export { verifyRecord } from './verify.js';
export { NameService, type NameServiceOptions } from './service.js';
export { startNamesServer, type NamesServer } from './http/server.js';
export type { NamesServerConfig } from './http/options.js';
export type { NameStore } from './store/store.js';
export { MemoryStore } from './store/memory-store.js';
export { SqliteStore } from './store/sqlite-store.js';
export { EtcdStore, type EtcdStoreOptions } from './store/etcd/etcd-store.js';
export {
  type LocalEtcdCluster,
  type LocalEtcdMember,
  startLocalEtcd,
} from './store/etcd/local-cluster.js';
export { defaultDbPath, openNameStore, openStore, type StoreSpec } from './store/open.js';
