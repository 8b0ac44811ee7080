import express, { type Express } from 'express';
import { errorMiddleware, notFoundHandler } from './errors.js';
import type { Logger } from './logger.js';
import { redMiddleware, type HttpMetrics } from './metrics.js';
import { opsRouter, type ReadinessCheck } from './ops.js';

export interface ServiceAppOptions {
  logger: Logger;
  metrics: HttpMetrics;
  checks: ReadinessCheck[];
  info: () => Record<string, unknown>;
  openapi: Record<string, unknown>;
  isShuttingDown: () => boolean;
}

/**
 * The frame every data-plane API shares, so their ops surface and error answers cannot drift apart:
 * RED metrics, /health, /ready, /info, /metrics and /openapi.json before the service's routes, then the JSON 404
 * and the error middleware after them.
 */
export function serviceApp(options: ServiceAppOptions, mountRoutes: (app: Express) => void): Express {
  const app = express();
  app.disable('x-powered-by');
  // Flat key=value parsing only: no nested objects from `a[b]=c`, repeated keys become arrays that schemas reject.
  app.set('query parser', 'simple');
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
  mountRoutes(app);
  app.use(notFoundHandler);
  app.use(errorMiddleware(options.logger));
  return app;
}
