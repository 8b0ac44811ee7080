import { serviceApp, type ServiceAppOptions } from '@obsdemo/service-kit';
import express, { type Express } from 'express';
import { diagnosticRoutes } from './routes/diagnostics.js';
import { orderRoutes } from './routes/orders.js';
import { productRoutes } from './routes/products.js';
import type { OrderService } from './services/orders.js';
import type { ProductService } from './services/products.js';

export interface AppDeps extends ServiceAppOptions {
  products: ProductService;
  orders: OrderService;
  bodyLimitBytes: number;
  slowDelayMs: number;
  errorRate: number;
}

export function createApp(deps: AppDeps): Express {
  return serviceApp(deps, (app) => {
    const jsonBody = express.json({ limit: deps.bodyLimitBytes });
    app.use(productRoutes(deps.products, jsonBody));
    app.use(orderRoutes(deps.orders, jsonBody));
    app.use(
      diagnosticRoutes({ slowDelayMs: deps.slowDelayMs, errorRate: deps.errorRate, random: deps.random }),
    );
  });
}
