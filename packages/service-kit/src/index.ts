// The service frame. Config parsing and the retry backoff live in @obsdemo/base (the operator and the tracing
// preload use them without Express or NATS) and are re-exported here, so a service imports its frame from one place.
export {
  Backoff,
  ConfigError,
  backoffCeiling,
  backoffDelay,
  env,
  jitter,
  loadConfig,
  parseConfig,
  sleep,
  type BackoffOptions,
  type BackoffPolicy,
  type LoadConfigIo,
} from '@obsdemo/base';
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
export { UNMATCHED_ROUTE, redMiddleware, routeLabel } from './red-middleware.js';
export { UNTRACED_PATHS, requestSpan } from './request-span.js';
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
  consumeWithTrace,
  deserializeContext,
  extractContext,
  publishWithTrace,
  serializeContext,
  startConsumerSpan,
  withConsumerSpan,
  type ConsumedMessage,
  type JetStreamPublisher,
  type PublishOptions,
} from './nats.js';
export {
  runService,
  type RunServiceOptions,
  type RunningService,
  type ServiceContext,
  type StartedService,
} from './run-service.js';
