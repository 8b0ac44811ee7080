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
import { faultInjection } from './http/faults.js';
import { diagnosticRoutes } from './routes/diagnostics.js';
import { orderRoutes } from './routes/orders.js';
import { productRoutes } from './routes/products.js';
import type { OrderService } from './services/orders.js';
import type { ProductService } from './services/products.js';

export interface AppDeps {
  logger: Logger;
  metrics: HttpMetrics;
  products: ProductService;
  orders: OrderService;
  checks: ReadinessCheck[];
  info: () => Record<string, unknown>;
  openapi: Record<string, unknown>;
  isShuttingDown: () => boolean;
  bodyLimitBytes: number;
  slowDelayMs: number;
  errorRate: number;
  faults: { latencyMs: number; latencyPercent: number; errorPercent: number };
  random?: () => number;
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
  app.use(faultInjection(deps.faults, deps.random));
  app.use(productRoutes(deps.products, jsonBody));
  app.use(orderRoutes(deps.orders, jsonBody));
  app.use(
    diagnosticRoutes({ slowDelayMs: deps.slowDelayMs, errorRate: deps.errorRate, random: deps.random }),
  );
  app.use(notFoundHandler);
  app.use(errorMiddleware(deps.logger));
  return app;
}
