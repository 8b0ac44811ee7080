export { ConfigError, env, loadConfig, parseConfig, type LoadConfigIo } from './config.js';
export { REDACTED, isSecretKey, redact, redactUrls } from './redact.js';
export { createLogger, type Logger, type LoggerOptions } from './logger.js';
export {
  ConflictError,
  DEPENDENCY_RETRY_AFTER_SECONDS,
  HttpError,
  NotFoundError,
  ServiceUnavailableError,
  ValidationError,
  errorMiddleware,
  notFoundHandler,
  toErrorResponse,
  type DependencyFailure,
  type ErrorBody,
  type ErrorResponse,
} from './errors.js';
export { describeIssues, parseRequest, type ValidationIssue } from './validation.js';
export {
  UNMATCHED_ROUTE,
  classifySql,
  createDatabaseMetrics,
  createHttpMetrics,
  createRegistry,
  redMiddleware,
  routeLabel,
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
export { opsRouter, type OpsOptions, type ReadinessCheck } from './ops.js';
export { serviceApp, type ServiceAppOptions } from './service-app.js';
export {
  FAULT_ENV,
  decideFault,
  faultConfig,
  faultInjection,
  type FaultConfig,
  type FaultDecision,
  type FaultEnv,
} from './faults.js';
export { buildOpenApi, type OpenApiOptions, type RouteDoc } from './openapi.js';
export { createShutdown, type Closer, type Shutdown, type ShutdownOptions } from './shutdown.js';
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
export {
  consumeWithTrace,
  deserializeContext,
  extractContext,
  publishWithTrace,
  serializeContext,
  withConsumerSpan,
  type ConsumedMessage,
  type JetStreamPublisher,
  type PublishOptions,
} from './nats.js';
