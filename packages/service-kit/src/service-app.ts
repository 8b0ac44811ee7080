import express, { type Express } from 'express';
import { errorMiddleware, notFoundHandler, type DependencyFailure } from './errors.js';
import { faultInjection, type FaultConfig } from './faults.js';
import type { HttpMetrics, Logger } from '@obsdemo/telemetry';
import { opsRouter, type ReadinessCheck } from './ops.js';
import { redMiddleware } from './red-middleware.js';
import { requestSpan } from './request-span.js';

export interface ServiceAppOptions {
  logger: Logger;
  metrics: HttpMetrics;
  checks: ReadinessCheck[];
  info: () => Record<string, unknown>;
  openapi: Record<string, unknown>;
  isShuttingDown: () => boolean;
  /** Errors that mean a dependency is down, answered 503 with Retry-After instead of 500. */
  dependencyFailures?: readonly DependencyFailure[];
  /** Demo fault injection on the service's routes (never on the ops endpoints); none when absent. */
  faults?: FaultConfig;
  /** The dice for fault injection; tests pass their own. */
  random?: () => number;
}

/**
 * The frame every data-plane API shares, so their ops surface and error answers cannot drift apart:
 * the request's SERVER span, RED metrics, /health, /ready, /info, /metrics and /openapi.json before fault injection and the service's routes,
 * then the JSON 404 and the error middleware after them.
 */
export function serviceApp(options: ServiceAppOptions, mountRoutes: (app: Express) => void): Express {
  const app = express();
  app.disable('x-powered-by');
  // Flat key=value parsing only: no nested objects from `a[b]=c`, repeated keys become arrays that schemas reject.
  app.set('query parser', 'simple');
  app.use(requestSpan());
  app.use(redMiddleware(options.metrics));
  app.use(
    opsRouter({
      registry: options.metrics.registry,
      checks: options.checks,
      info: options.info,
      isShuttingDown: options.isShuttingDown,
    }),
  );
  app.get('/openapi.json', (_req, res) => {
    res.json(options.openapi);
  });
  if (options.faults) app.use(faultInjection(options.faults, options.random));
  mountRoutes(app);
  app.use(notFoundHandler);
  app.use(errorMiddleware(options.logger, options.dependencyFailures));
  return app;
}
