import { z } from 'zod';

/** JetStream stream that carries every order event; subjects below are bound to it. */
export const ORDERS_STREAM = 'ORDERS';
export const ORDERS_SUBJECTS = ['orders.>'] as const;
export const ORDER_CREATED_SUBJECT = 'orders.created';

const money = z.number().finite().nonnegative();

export const OrderItemV1 = z.object({
  productId: z.number().int().positive(),
  quantity: z.number().int().positive(),
  unitPrice: money,
});

/**
 * Version 1 of `orders.created`. Consumers switch on `schemaVersion`, so a breaking change ships as a new
 * `OrderCreatedV2` next to this one instead of editing it.
 */
export const OrderCreatedV1 = z.object({
  schemaVersion: z.literal(1),
  eventId: z.uuid(),
  orderId: z.number().int().positive(),
  occurredAt: z.iso.datetime({ offset: true }),
  customer: z.string().min(1).max(200),
  items: z.array(OrderItemV1).min(1),
  total: money,
  currency: z.string().regex(/^[A-Z]{3}$/, 'ISO 4217 code such as EUR'),
});

export type OrderItemV1 = z.infer<typeof OrderItemV1>;
export type OrderCreatedV1 = z.infer<typeof OrderCreatedV1>;

/** Every version a consumer may meet on the wire. */
export const OrderCreated = z.discriminatedUnion('schemaVersion', [OrderCreatedV1]);
export type OrderCreated = z.infer<typeof OrderCreated>;

export class EventDecodeError extends Error {
  constructor(
    message: string,
    readonly issues: readonly { path: string; message: string }[],
  ) {
    super(message);
    this.name = 'EventDecodeError';
  }
}

function describe(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((issue) => ({ path: issue.path.join('.') || '(root)', message: issue.message }));
}

function fail(what: string, error: z.ZodError): never {
  const issues = describe(error);
  const summary = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
  throw new EventDecodeError(`invalid ${what}: ${summary}`, issues);
}

/** Validates before serialising so a producer can never put a malformed event on the stream. */
export function encodeOrderCreated(event: OrderCreatedV1): Uint8Array {
  const parsed = OrderCreatedV1.safeParse(event);
  if (!parsed.success) fail('orders.created event', parsed.error);
  return new TextEncoder().encode(JSON.stringify(parsed.data));
}

export function decodeOrderCreated(data: Uint8Array | string): OrderCreated {
  const text = typeof data === 'string' ? data : new TextDecoder().decode(data);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new EventDecodeError(`invalid orders.created event: not JSON (${(error as Error).message})`, [
      { path: '(root)', message: 'not JSON' },
    ]);
  }
  const parsed = OrderCreated.safeParse(json);
  if (!parsed.success) fail('orders.created event', parsed.error);
  return parsed.data;
}
