export { REDACTED, isSecretKey, redact, redactUrls } from './redact.js';
export { createLogger, type Logger, type LoggerOptions } from './logger.js';
export {
  classifySql,
  createDatabaseMetrics,
  createHttpMetrics,
  createRegistry,
  sqlClassifier,
  type DatabaseMetrics,
  type HttpMetrics,
  type PoolStats,
} from './metrics.js';
export {
  LRU_EVICTION_REASON,
  createCacheMetrics,
  type CacheMetrics,
  type CacheMetricsOptions,
  type EvictionReason,
} from './cache-metrics.js';
export {
  OTEL_ENV,
  createSampler,
  currentTelemetry,
  defaultInstrumentations,
  startTelemetry,
  telemetryOptionsFromEnv,
  type OtelEnv,
  type Telemetry,
  type TelemetryOptions,
} from './tracing.js';
export { recordSpanError } from './span-error.js';
