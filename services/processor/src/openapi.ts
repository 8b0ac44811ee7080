import { buildOpenApi, type RouteDoc } from '@obsdemo/service-kit';
import {
  BatchRequest,
  EnrichRequest,
  EnrichResponse,
  Job,
  JobAccepted,
  JobIdParams,
  JobListQuery,
  JobPage,
  NoQuery,
  OrderAnalytics,
  OrderAnalyticsQuery,
  ProcessOrderRequest,
  ProcessOrderResponse,
  ProductAnalytics,
  Report,
} from './schemas.js';

const UPSTREAM = {
  502: { description: 'catalog failed or is unreachable' },
  504: { description: 'catalog did not answer in time' },
};

const ROUTES: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/v1/analytics/products',
    summary: 'Inventory summary over every catalog product',
    query: NoQuery,
    responses: { 200: { description: 'Summary', schema: ProductAnalytics }, ...UPSTREAM },
  },
  {
    method: 'get',
    path: '/api/v1/analytics/orders',
    summary: 'Revenue and top products over the newest orders',
    query: OrderAnalyticsQuery,
    responses: { 200: { description: 'Summary', schema: OrderAnalytics }, ...UPSTREAM },
  },
  {
    method: 'get',
    path: '/api/v1/analytics/report',
    summary: 'Catalog health, product and order summaries, fetched in parallel',
    query: NoQuery,
    responses: { 200: { description: 'Report', schema: Report }, ...UPSTREAM },
  },
  {
    method: 'post',
    path: '/api/v1/analytics/process-batch',
    summary: 'Queue a durable batch job over the given products',
    body: BatchRequest,
    responses: { 202: { description: 'Accepted; poll statusUrl', schema: JobAccepted } },
  },
  {
    method: 'post',
    path: '/api/v1/processor/orders/process',
    summary: 'Create an order in catalog, enrich it and schedule its notification job',
    body: ProcessOrderRequest,
    responses: { 201: { description: 'Processed', schema: ProcessOrderResponse }, ...UPSTREAM },
  },
  {
    method: 'post',
    path: '/api/v1/processor/products/enrich',
    summary: 'Product details fetched in parallel under a concurrency limit',
    body: EnrichRequest,
    responses: { 200: { description: 'Enriched products', schema: EnrichResponse }, ...UPSTREAM },
  },
  {
    method: 'get',
    path: '/api/v1/processor/jobs',
    summary: 'List jobs, newest first',
    query: JobListQuery,
    responses: { 200: { description: 'A page of jobs', schema: JobPage } },
  },
  {
    method: 'get',
    path: '/api/v1/processor/jobs/:id',
    summary: 'One job with its status, attempts and result',
    params: JobIdParams,
    responses: { 200: { description: 'The job', schema: Job } },
  },
];

export function processorOpenApi(version: string): Record<string, unknown> {
  return buildOpenApi({
    title: 'processor',
    version,
    description: 'Analytics, order workflows, enrichment and durable background jobs over the catalog API',
    routes: ROUTES,
  });
}
