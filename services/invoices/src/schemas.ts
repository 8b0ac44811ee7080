import { z } from 'zod';

const MAX_INT = 2_147_483_647;

/** Query and path values arrive as strings; repeated keys arrive as arrays and are rejected here. */
const positiveIntString = (max: number, what: string) =>
  z
    .string()
    .regex(/^[1-9]\d{0,9}$/, what)
    .transform(Number)
    .pipe(z.number().int().max(max, what));

export const IdParams = z.object({ id: positiveIntString(Number.MAX_SAFE_INTEGER, 'a positive integer id') });
export const OrderIdParams = z.object({ orderId: positiveIntString(MAX_INT, 'a positive integer order id') });

const page = positiveIntString(10_000, 'an integer between 1 and 10000').default(1);
const pageSize = positiveIntString(100, 'an integer between 1 and 100').default(20);

export const InvoiceListQuery = z.strictObject({
  page,
  pageSize,
  orderId: positiveIntString(MAX_INT, 'a positive integer order id').optional(),
});

export const ParkedListQuery = z.strictObject({ page, pageSize });

export const Invoice = z.object({
  id: z.number().int(),
  number: z.string(),
  orderId: z.number().int(),
  eventId: z.string(),
  customer: z.string(),
  currency: z.string(),
  subtotal: z.number(),
  taxRate: z.number(),
  tax: z.number(),
  total: z.number(),
  orderedAt: z.string(),
  dueAt: z.string(),
  createdAt: z.string(),
  lines: z.array(
    z.object({
      productId: z.number().int(),
      quantity: z.number().int(),
      unitPrice: z.number(),
      lineTotal: z.number(),
    }),
  ),
});
export type Invoice = z.infer<typeof Invoice>;

export const InvoicePage = z.object({
  items: z.array(Invoice),
  page: z.number().int(),
  pageSize: z.number().int(),
  total: z.number().int(),
});

export const ParkedMessage = z.object({
  id: z.number().int(),
  stream: z.string(),
  streamSequence: z.number().int(),
  subject: z.string(),
  reason: z.string(),
  error: z.string(),
  deliveries: z.number().int(),
  payload: z.string(),
  parkedAt: z.string(),
});
export type ParkedMessage = z.infer<typeof ParkedMessage>;

export const ParkedPage = z.object({
  items: z.array(ParkedMessage),
  page: z.number().int(),
  pageSize: z.number().int(),
  total: z.number().int(),
});
