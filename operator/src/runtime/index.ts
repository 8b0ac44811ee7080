// The operator's generic runtime (controller-runtime's pieces, one module each): the reconciler and main.ts
// import from here.
export {
  BucketRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  defaultControllerRateLimiter,
  type RateLimiter,
} from './rate-limiter.js';
export { WorkQueue, type WorkQueueOptions } from './workqueue.js';
export {
  KubeApiError,
  KubeHttpClient,
  collectionPath,
  isKubeApiError,
  microTime,
  objectPath,
  type KubeHttpClientOptions,
  type KubeList,
  type KubeObject,
  type KubeStatus,
  type ObjectMeta,
  type Query,
  type RequestOptions,
  type WatchEvent,
  type WatchEventType,
} from './kube-http-client.js';
export { MapStore, objectKey, splitKey, type Store } from './store.js';
export {
  Informer,
  stripManagedFields,
  type DeleteInfo,
  type EventHandlers,
  type InformerOptions,
  type ListWatchClient,
} from './informer.js';
export {
  KubeLeaseClient,
  LeaderElector,
  defaultIdentity,
  type LeaderCallbacks,
  type LeaderElectionOptions,
  type Lease,
  type LeaseClient,
  type LeaseSpec,
  type StoppedReason,
} from './leader-election.js';
export {
  Controller,
  ReconcileAbortedError,
  TerminalError,
  type AbortReason,
  type ControllerOptions,
  type MapFunc,
  type ReconcileRequest,
  type ReconcileResult,
  type Reconciler,
  type WatchOptions,
} from './controller.js';
export {
  EventAggregator,
  EventRecorder,
  REPORTING_CONTROLLER,
  eventKey,
  referenceTo,
  type EventDecision,
  type EventRecord,
  type EventRecorderOptions,
  type EventType,
  type ObjectReference,
} from './events.js';
export {
  informersSynced,
  leaderElectionCheck,
  startHealthServer,
  type HealthServer,
  type HealthServerOptions,
  type ReadinessCheck,
} from './health.js';
export { errorFields, silentLogger, type RuntimeLogger } from './logger.js';
