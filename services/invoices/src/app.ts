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
import { invoiceRoutes } from './routes/invoices.js';
import type { InvoiceService } from './services/invoices.js';

export interface AppDeps {
  logger: Logger;
  metrics: HttpMetrics;
  invoices: InvoiceService;
  checks: ReadinessCheck[];
  info: () => Record<string, unknown>;
  openapi: Record<string, unknown>;
  isShuttingDown: () => boolean;
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
  app.use(invoiceRoutes(deps.invoices));
  app.use(notFoundHandler);
  app.use(errorMiddleware(deps.logger));
  return app;
}
