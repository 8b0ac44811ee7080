import { buildOpenApi, type RouteDoc } from '@obsdemo/service-kit';
import { z } from 'zod';
import {
  IdParams,
  NoQuery,
  NewOrder,
  NewProduct,
  Order,
  OrderListQuery,
  OrderPage,
  Product,
  ProductListQuery,
  ProductPage,
  ProductUpdate,
  SlowQuery,
} from './schemas.js';

const ROUTES: RouteDoc[] = [
  {
    method: 'get',
    path: '/products',
    summary: 'List products, optionally by category',
    query: ProductListQuery,
    responses: { 200: { description: 'A page of products', schema: ProductPage } },
  },
  {
    method: 'get',
    path: '/products/:id',
    summary: 'One product',
    params: IdParams,
    responses: { 200: { description: 'The product', schema: Product } },
  },
  {
    method: 'post',
    path: '/products',
    summary: 'Create a product',
    body: NewProduct,
    responses: { 201: { description: 'Created', schema: Product } },
  },
  {
    method: 'patch',
    path: '/products/:id',
    summary: 'Change a product (not its sku); every catalog replica drops its cached copy',
    params: IdParams,
    body: ProductUpdate,
    responses: { 200: { description: 'The changed product', schema: Product } },
  },
  {
    method: 'get',
    path: '/orders',
    summary: 'List orders, newest first',
    query: OrderListQuery,
    responses: { 200: { description: 'A page of orders', schema: OrderPage } },
  },
  {
    method: 'get',
    path: '/orders/:id',
    summary: 'One order with its items',
    params: IdParams,
    responses: { 200: { description: 'The order', schema: Order } },
  },
  {
    method: 'post',
    path: '/orders',
    summary: 'Place an order; prices and totals are computed server-side and orders.created is published',
    body: NewOrder,
    responses: { 201: { description: 'Created', schema: Order } },
  },
  {
    method: 'get',
    path: '/slow',
    summary: 'Answers after a delay (SLOW_DELAY_MS or delayMs)',
    query: SlowQuery,
    responses: {
      200: { description: 'Done', schema: z.object({ status: z.string(), delayMs: z.number() }) },
    },
  },
  {
    method: 'get',
    path: '/error',
    summary: 'Fails with probability ERROR_RATE',
    query: NoQuery,
    responses: { 200: { description: 'Did not fail this time' }, 500: { description: 'Simulated failure' } },
  },
];

export function catalogOpenApi(version: string): Record<string, unknown> {
  return buildOpenApi({ title: 'catalog', version, description: 'Products and orders API', routes: ROUTES });
}
