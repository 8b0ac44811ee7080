import { buildOpenApi, type RouteDoc } from '@obsdemo/service-kit';
import {
  IdParams,
  Invoice,
  InvoiceListQuery,
  InvoicePage,
  OrderIdParams,
  ParkedListQuery,
  ParkedPage,
} from './schemas.js';

const ROUTES: RouteDoc[] = [
  {
    method: 'get',
    path: '/invoices',
    summary: 'List invoices, newest first; orderId narrows to one order',
    query: InvoiceListQuery,
    responses: { 200: { description: 'A page of invoices', schema: InvoicePage } },
  },
  {
    method: 'get',
    path: '/invoices/parked',
    summary: 'Poison messages that were parked instead of invoiced, newest first',
    query: ParkedListQuery,
    responses: { 200: { description: 'A page of parked messages', schema: ParkedPage } },
  },
  {
    method: 'get',
    path: '/invoices/by-order/:orderId',
    summary: 'The invoice of one order',
    params: OrderIdParams,
    responses: { 200: { description: 'The invoice', schema: Invoice } },
  },
  {
    method: 'get',
    path: '/invoices/:id',
    summary: 'One invoice with its lines',
    params: IdParams,
    responses: { 200: { description: 'The invoice', schema: Invoice } },
  },
];

export function invoicesOpenApi(version: string): Record<string, unknown> {
  return buildOpenApi({
    title: 'invoices',
    version,
    description: 'Invoices written from orders.created events',
    routes: ROUTES,
  });
}
