import type { HttpMetrics, Logger } from '@obsdemo/telemetry';
import { errorMiddleware, notFoundHandler, opsRouter, redMiddleware } from '@obsdemo/service-kit';
import express, { type Express } from 'express';

export interface AppDeps {
  logger: Logger;
  metrics: HttpMetrics;
  info: () => Record<string, unknown>;
  openapi: Record<string, unknown>;
  isShuttingDown: () => boolean;
}

/** Only the ops surface: the load generator's work is outbound. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(redMiddleware(deps.metrics));
  app.use(
    opsRouter({
      registry: deps.metrics.registry,
      // The target is not a readiness dependency: a load generator that keeps running while the gateway is
      // down is exactly what makes the outage visible on the dashboards.
      checks: [],
      info: deps.info,
      isShuttingDown: deps.isShuttingDown,
    }),
  );
  app.get('/openapi.json', (_req, res) => {
    res.json(deps.openapi);
  });
  app.use(notFoundHandler);
  app.use(errorMiddleware(deps.logger));
  return app;
}
