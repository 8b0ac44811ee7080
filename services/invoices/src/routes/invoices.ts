import { parseRequest } from '@obsdemo/service-kit';
import { Router } from 'express';
import { IdParams, InvoiceListQuery, OrderIdParams, ParkedListQuery } from '../schemas.js';
import type { InvoiceService } from '../services/invoices.js';

export function invoiceRoutes(invoices: InvoiceService): Router {
  const router = Router();
  router.get('/invoices', async (req, res) => {
    res.json(await invoices.list(parseRequest(InvoiceListQuery, req.query, 'query')));
  });
  // Before /invoices/:id so "parked" and "by-order" are never read as ids.
  router.get('/invoices/parked', async (req, res) => {
    res.json(await invoices.parked(parseRequest(ParkedListQuery, req.query, 'query')));
  });
  router.get('/invoices/by-order/:orderId', async (req, res) => {
    res.json(await invoices.byOrder(parseRequest(OrderIdParams, req.params, 'params').orderId));
  });
  router.get('/invoices/:id', async (req, res) => {
    res.json(await invoices.get(parseRequest(IdParams, req.params, 'params').id));
  });
  return router;
}
