import {
  errorMiddleware,
  notFoundHandler,
  opsRouter,
  redMiddleware,
  type HttpMetrics,
  type Logger,
  type ReadinessCheck,
} from '@obsdemo/telemetry';
import express, { type Express } from 'express';
import { analyticsRoutes } from './routes/analytics.js';
import { processorRoutes } from './routes/processor.js';
import type { AnalyticsService } from './services/analytics.js';
import type { JobService } from './services/jobs.js';
import type { WorkflowService } from './services/workflow.js';

export interface AppDeps {
  logger: Logger;
  metrics: HttpMetrics;
  analytics: AnalyticsService;
  workflow: WorkflowService;
  jobs: JobService;
  checks: ReadinessCheck[];
  info: () => Record<string, unknown>;
  openapi: Record<string, unknown>;
  isShuttingDown: () => boolean;
  bodyLimitBytes: number;
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // Flat key=value parsing only: no nested objects from `a[b]=c`, repeated keys become arrays that schemas reject.
  app.set('query parser', 'simple');
  app.use(redMiddleware(deps.metrics));
  app.use(
    opsRouter({
      registry: deps.metrics.registry,
      checks: deps.checks,
      info: deps.info,
      isShuttingDown: deps.isShuttingDown,
    }),
  );
  app.get('/openapi.json', (_req, res) => {
    res.json(deps.openapi);
  });
  const jsonBody = express.json({ limit: deps.bodyLimitBytes });
  app.use(analyticsRoutes(deps.analytics, deps.jobs, jsonBody));
  app.use(processorRoutes(deps.workflow, deps.jobs, jsonBody));
  app.use(notFoundHandler);
  app.use(errorMiddleware(deps.logger));
  return app;
}
