import { z } from 'zod';
import { JOB_STATUSES } from './domain/jobs.js';

const MAX_INT = 2_147_483_647;

/** Query and path values arrive as strings; repeated keys arrive as arrays and are rejected here. */
const positiveIntString = (max: number, what: string) =>
  z
    .string()
    .regex(/^[1-9]\d{0,9}$/, what)
    .transform(Number)
    .pipe(z.number().int().max(max, what));

const page = positiveIntString(10_000, 'an integer between 1 and 10000').default(1);
const pageSize = positiveIntString(100, 'an integer between 1 and 100').default(20);

export const NoQuery = z.strictObject({});

export const OrderAnalyticsQuery = z.strictObject({
  /** How many of the newest orders to analyse. */
  limit: positiveIntString(1000, 'an integer between 1 and 1000').default(200),
});

const productId = z.number().int().positive().max(MAX_INT);
const productIds = z
  .array(productId)
  .min(1)
  .max(100)
  .refine((ids) => new Set(ids).size === ids.length, 'each product id at most once');

export const BatchRequest = z.strictObject({
  productIds,
  /** Extra processing time to make the job observable while it runs (demo and tests). */
  simulateWorkMs: z.number().int().min(0).max(60_000).default(0),
});
export const BatchJobPayload = BatchRequest;

export const NotifyJobPayload = z.object({
  orderId: z.number().int().positive(),
  customer: z.string(),
  total: z.number(),
  currency: z.string(),
});

export const ProcessOrderRequest = z.strictObject({
  customer: z.string().trim().min(1).max(200),
  items: z
    .array(z.strictObject({ productId, quantity: z.number().int().min(1).max(1000) }))
    .min(1)
    .max(50)
    .refine(
      (items) => new Set(items.map((i) => i.productId)).size === items.length,
      'each productId at most once',
    ),
});

export const EnrichRequest = z.strictObject({ productIds });

export const JobIdParams = z.object({ id: z.uuid('a job id (UUID)') });

export const JobListQuery = z.strictObject({
  page,
  pageSize,
  status: z.enum(JOB_STATUSES, `one of ${JOB_STATUSES.join(', ')}`).optional(),
  type: z
    .string()
    .regex(/^[a-z.-]{1,64}$/, 'a job type such as analytics.process-batch')
    .optional(),
});

export const Job = z.object({
  id: z.string(),
  type: z.string(),
  status: z.enum(JOB_STATUSES),
  payload: z.unknown(),
  result: z.unknown(),
  error: z.string().nullable(),
  attempts: z.number().int(),
  maxAttempts: z.number().int(),
  runAfter: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  finishedAt: z.string().nullable(),
});

export const JobPage = z.object({
  items: z.array(Job),
  page: z.number().int(),
  pageSize: z.number().int(),
  total: z.number().int(),
});

export const JobAccepted = z.object({ jobId: z.string(), status: z.string(), statusUrl: z.string() });

const money = z.record(z.string(), z.number());

export const ProductAnalytics = z.object({
  products: z.number().int(),
  totalStock: z.number().int(),
  inventoryValue: z.number(),
  averagePrice: z.number(),
  byCategory: z.record(
    z.string(),
    z.object({ products: z.number().int(), stock: z.number().int(), inventoryValue: z.number() }),
  ),
  lowStock: z.array(z.object({ id: z.number().int(), sku: z.string(), stock: z.number().int() })),
});

export const OrderAnalytics = z.object({
  orders: z.number().int(),
  revenue: money,
  averageOrderValue: money,
  itemsSold: z.number().int(),
  topProducts: z.array(z.object({ productId: z.number().int(), quantity: z.number().int() })),
});

export const Report = z.object({
  generatedAt: z.string(),
  catalog: z.object({ status: z.string() }),
  products: ProductAnalytics,
  orders: OrderAnalytics,
});

export const EnrichedProduct = z.object({
  id: z.number().int(),
  sku: z.string(),
  name: z.string(),
  category: z.string(),
  price: z.number(),
  stock: z.number().int(),
  priceBand: z.string(),
  stockStatus: z.string(),
});

export const EnrichResponse = z.object({
  items: z.array(EnrichedProduct),
  missing: z.array(z.number().int()),
  concurrency: z.number().int(),
});

export const ProcessOrderResponse = z.object({
  order: z.object({
    orderId: z.number().int(),
    customer: z.string(),
    currency: z.string(),
    total: z.number(),
    itemCount: z.number().int(),
    categories: z.array(z.string()),
    lines: z.array(z.record(z.string(), z.unknown())),
  }),
  notificationJobId: z.string(),
  steps: z.array(z.string()),
});
