// Multipath scheduling and path estimation: pure parts, shared with the packet tunnel later.
export { PathLedger, type SentRange } from './path-ledger.js';
export { RateEstimator, type RateOptions } from './rate-estimator.js';
export { ResendQueue } from './resend-queue.js';
export {
  arrival,
  Backup,
  type BackupOptions,
  BestPath,
  type BestPathOptions,
  createScheduler,
  type PathView,
  pickEarliest,
  type Scheduler,
  type SchedulerName,
  type SchedulerOptions,
  SCHEDULERS,
} from './scheduler.js';
export {
  MultipathSender,
  type SenderOptions,
  type SenderPath,
  type SenderPathStats,
} from './sender.js';
