import { HttpError } from '@obsdemo/service-kit';
import { z } from 'zod';
import { retry } from '../domain/retry.js';
import {
  fromFetchError,
  fromResponse,
  invalidResponse,
  isRetryable,
  type CallSite,
} from './upstream-errors.js';

/** The parts of catalog's answers we rely on; anything else it sends is ignored. */
export const CatalogProduct = z.object({
  id: z.number().int(),
  sku: z.string(),
  name: z.string(),
  category: z.string(),
  price: z.number(),
  stock: z.number().int(),
});
export type CatalogProduct = z.infer<typeof CatalogProduct>;

export const CatalogOrder = z.object({
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
export type CatalogOrder = z.infer<typeof CatalogOrder>;

const page = <T extends z.ZodType>(item: T) =>
  z.object({
    items: z.array(item),
    page: z.number().int(),
    pageSize: z.number().int(),
    total: z.number().int(),
  });

const ProductPage = page(CatalogProduct);
const OrderPage = page(CatalogOrder);
const Health = z.object({ status: z.string() });

export interface NewCatalogOrder {
  customer: string;
  items: { productId: number; quantity: number }[];
}

export interface CatalogClientOptions {
  baseUrl: string;
  timeoutMs: number;
  retries: number;
  retryBaseMs: number;
  retryMaxMs: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  onRetry?: (site: CallSite, error: unknown, attempt: number, delayMs: number) => void;
}

const UPSTREAM = 'catalog';

/**
 * Catalog over HTTP with the platform's fetch (undici), which the telemetry package instruments: every call is
 * a CLIENT span and carries traceparent. Each attempt has its own timeout; only GETs are retried, because
 * catalog has no idempotency key for POST /orders and a retried create could place the order twice.
 */
export class CatalogClient {
  private readonly fetch: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(private readonly options: CatalogClientOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
  }

  health(): Promise<z.infer<typeof Health>> {
    return this.get('/health', Health);
  }

  listProducts(query: { page: number; pageSize: number }): Promise<z.infer<typeof ProductPage>> {
    return this.get(`/products?page=${query.page}&pageSize=${query.pageSize}`, ProductPage);
  }

  getProduct(id: number): Promise<CatalogProduct> {
    return this.get(`/products/${id}`, CatalogProduct);
  }

  listOrders(query: { page: number; pageSize: number }): Promise<z.infer<typeof OrderPage>> {
    return this.get(`/orders?page=${query.page}&pageSize=${query.pageSize}`, OrderPage);
  }

  getOrder(id: number): Promise<CatalogOrder> {
    return this.get(`/orders/${id}`, CatalogOrder);
  }

  createOrder(order: NewCatalogOrder): Promise<CatalogOrder> {
    return this.call({ upstream: UPSTREAM, method: 'POST', path: '/orders' }, CatalogOrder, order);
  }

  private get<S extends z.ZodType>(path: string, schema: S): Promise<z.infer<S>> {
    const site: CallSite = { upstream: UPSTREAM, method: 'GET', path };
    return retry(() => this.call(site, schema), {
      retries: this.options.retries,
      baseMs: this.options.retryBaseMs,
      maxMs: this.options.retryMaxMs,
      shouldRetry: isRetryable,
      sleep: this.sleep,
      random: this.random,
      onRetry: (error, attempt, delayMs) => this.options.onRetry?.(site, error, attempt, delayMs),
    });
  }

  private async call<S extends z.ZodType>(site: CallSite, schema: S, body?: unknown): Promise<z.infer<S>> {
    const { timeoutMs } = this.options;
    let payload: unknown;
    let status: number;
    try {
      // Joined as text, not resolved as a URL, so a base with a path prefix (behind a gateway) keeps it.
      const res = await this.fetch(`${this.options.baseUrl.replace(/\/+$/, '')}${site.path}`, {
        method: site.method,
        headers: {
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        // Covers reading the body too, so a dependency that stalls mid-response still times out.
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = res.status;
      const text = await res.text();
      try {
        payload = text === '' ? undefined : JSON.parse(text);
      } catch {
        payload = undefined;
        if (res.ok) throw invalidResponse(site, 'not JSON');
      }
    } catch (error) {
      if (error instanceof HttpError) throw error;
      throw fromFetchError(error, site, timeoutMs);
    }
    if (status < 200 || status >= 300) throw fromResponse(status, payload, site);
    const parsed = schema.safeParse(payload);
    if (!parsed.success) throw invalidResponse(site, parsed.error.issues[0]?.message ?? 'schema mismatch');
    return parsed.data;
  }
}
