import { z } from 'zod';

const MAX_INT = 2_147_483_647;

/** Query and path values arrive as strings; repeated keys arrive as arrays and are rejected here. */
const positiveIntString = (max: number, what: string) =>
  z
    .string()
    .regex(/^[1-9]\d{0,9}$/, what)
    .transform(Number)
    .pipe(z.number().int().max(max, what));

export const IdParams = z.object({ id: positiveIntString(MAX_INT, 'a positive integer id') });

const page = positiveIntString(10_000, 'an integer between 1 and 10000').default(1);
const pageSize = positiveIntString(100, 'an integer between 1 and 100').default(20);

export const ProductListQuery = z.strictObject({
  page,
  pageSize,
  category: z
    .string()
    .trim()
    .min(1)
    .max(64)
    .regex(/^[\p{L}\p{N} _-]+$/u, 'letters, digits, spaces, _ or -')
    .optional(),
});

export const OrderListQuery = z.strictObject({ page, pageSize });

/** At least one cent: a tiny positive float would round to 0 cents and break the row's price check. */
const price = z
  .number()
  .min(0.01, 'at least 0.01')
  .max(1_000_000)
  .refine((v) => Math.abs(v * 100 - Math.round(v * 100)) < 1e-6, 'at most two decimal places');

const productName = z.string().trim().min(1).max(200);
const description = z.string().max(2000);
const category = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[\p{L}\p{N} _-]+$/u, 'letters, digits, spaces, _ or -');
const stock = z.number().int().min(0).max(1_000_000);

export const NewProduct = z.strictObject({
  sku: z.string().regex(/^[A-Z0-9][A-Z0-9-]{2,31}$/, '3-32 upper-case letters, digits or -'),
  name: productName,
  description: description.default(''),
  category,
  price,
  stock: stock.default(0),
});
export type NewProduct = z.infer<typeof NewProduct>;

/** Every field but the sku (a product's identity) may change; an empty patch is a mistake worth a 400. */
export const ProductUpdate = z
  .strictObject({
    name: productName.optional(),
    description: description.optional(),
    category: category.optional(),
    price: price.optional(),
    stock: stock.optional(),
  })
  .refine((patch) => Object.keys(patch).length > 0, 'at least one field to change');
export type ProductUpdate = z.infer<typeof ProductUpdate>;

export const OrderItemInput = z.strictObject({
  productId: z.number().int().positive().max(MAX_INT),
  quantity: z.number().int().min(1, 'at least 1').max(1000, 'at most 1000'),
});

export const NewOrder = z.strictObject({
  // PostgreSQL text cannot hold U+0000, nor jsonb an unpaired surrogate: refused here, not by the database.
  customer: z
    .string()
    .trim()
    .min(1)
    .max(200)
    .refine((s) => s.isWellFormed() && !s.includes('\u0000'), 'no U+0000 and no unpaired surrogate'),
  items: z
    .array(OrderItemInput)
    .min(1)
    .max(50)
    .refine(
      (items) => new Set(items.map((i) => i.productId)).size === items.length,
      'each productId at most once',
    ),
});
export type NewOrder = z.infer<typeof NewOrder>;

export const SlowQuery = z.strictObject({
  delayMs: z
    .string()
    .regex(/^\d{1,5}$/, 'an integer between 0 and 30000')
    .transform(Number)
    .pipe(z.number().max(30_000, 'an integer between 0 and 30000'))
    .optional(),
});

export const Product = z.object({
  id: z.number().int(),
  sku: z.string(),
  name: z.string(),
  description: z.string(),
  category: z.string(),
  price: z.number(),
  stock: z.number().int(),
  createdAt: z.string(),
});
export type Product = z.infer<typeof Product>;

export const ProductPage = z.object({
  items: z.array(Product),
  page: z.number().int(),
  pageSize: z.number().int(),
  total: z.number().int(),
});

export const Order = z.object({
  id: z.number().int(),
  customer: z.string(),
  status: z.string(),
  currency: z.string(),
  total: z.number(),
  createdAt: z.string(),
  items: z.array(
    z.object({
      productId: z.number().int(),
      quantity: z.number().int(),
      unitPrice: z.number(),
      lineTotal: z.number(),
    }),
  ),
});
export type Order = z.infer<typeof Order>;

export const OrderPage = z.object({
  items: z.array(Order),
  page: z.number().int(),
  pageSize: z.number().int(),
  total: z.number().int(),
});

/** For routes that take no query parameters: anything sent is a mistake worth a 400. */
export const NoQuery = z.strictObject({});
