import { serviceApp, type ServiceAppOptions } from '@obsdemo/service-kit';
import type { Express } from 'express';
import { invoiceRoutes } from './routes/invoices.js';
import type { InvoiceService } from './services/invoices.js';

export interface AppDeps extends ServiceAppOptions {
  invoices: InvoiceService;
}

export function createApp(deps: AppDeps): Express {
  return serviceApp(deps, (app) => {
    app.use(invoiceRoutes(deps.invoices));
  });
}
