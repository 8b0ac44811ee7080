import { HttpError } from '@obsdemo/service-kit';
import { recordSpanError } from '@obsdemo/telemetry';
import { trace } from '@opentelemetry/api';
import pLimit from 'p-limit';
import type { CatalogClient, CatalogProduct, NewCatalogOrder } from '../clients/catalog.js';
import { enrichOrder, enrichProduct } from '../domain/enrich.js';
import { JOB_TYPES } from '../jobs/handlers.js';
import type { JobService } from './jobs.js';

const tracer = trace.getTracer('obsdemo.processor.workflow');

/** Each workflow step is its own span, so the trace shows where the time went. */
async function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(`workflow.${name}`, async (span) => {
    try {
      return await fn();
    } catch (error) {
      recordSpanError(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** After the order exists, a failure must say so: the caller must not place it again. */
function withOrder(error: unknown, orderId: number): unknown {
  if (!(error instanceof HttpError)) return error;
  const details = typeof error.details === 'object' && error.details !== null ? error.details : {};
  return new HttpError(error.status, error.code, `${error.message} (order ${orderId} was created)`, {
    ...details,
    orderId,
  });
}

export interface WorkflowDeps {
  catalog: CatalogClient;
  jobs: JobService;
  concurrency: number;
}

export function workflowService({ catalog, jobs, concurrency }: WorkflowDeps) {
  const fetchProducts = (ids: number[]): Promise<CatalogProduct[]> => {
    const limit = pLimit(concurrency);
    return Promise.all(ids.map((id) => limit(() => catalog.getProduct(id))));
  };

  return {
    /** create the order → fetch its products → enrich → schedule the notification job. */
    async processOrder(input: NewCatalogOrder) {
      const order = await step('create-order', () => catalog.createOrder(input));
      try {
        const products = await step('fetch-products', () =>
          fetchProducts(order.items.map((i) => i.productId)),
        );
        const enriched = await step('enrich', async () => enrichOrder(order, products));
        const job = await step('schedule-notification', () =>
          jobs.enqueue(JOB_TYPES.notify, {
            orderId: order.id,
            customer: order.customer,
            total: order.total,
            currency: order.currency,
          }),
        );
        return {
          order: enriched,
          notificationJobId: job.id,
          steps: ['create-order', 'fetch-products', 'enrich', 'schedule-notification'],
        };
      } catch (error) {
        throw withOrder(error, order.id);
      }
    },

    /** Product details in parallel, at most `concurrency` catalog calls in flight; unknown ids are listed. */
    async enrichProducts(ids: number[]) {
      const limit = pLimit(concurrency);
      const missing: number[] = [];
      const results = await Promise.all(
        ids.map((id) =>
          limit(async () => {
            try {
              return enrichProduct(await catalog.getProduct(id));
            } catch (error) {
              if (error instanceof HttpError && error.status === 404) {
                missing.push(id);
                return undefined;
              }
              throw error;
            }
          }),
        ),
      );
      return {
        items: results.filter((r) => r !== undefined),
        missing: missing.sort((a, b) => a - b),
        concurrency,
      };
    },
  };
}

export type WorkflowService = ReturnType<typeof workflowService>;
