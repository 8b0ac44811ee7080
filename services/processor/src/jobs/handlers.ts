import type { Logger } from '@obsdemo/telemetry';
import { HttpError } from '@obsdemo/service-kit';
import pLimit from 'p-limit';
import type { z } from 'zod';
import { setTimeout as delay } from 'node:timers/promises';
import type { CatalogClient, CatalogProduct } from '../clients/catalog.js';
import { summarizeProducts } from '../domain/analytics.js';
import { BatchJobPayload, NotifyJobPayload } from '../schemas.js';
import { PermanentJobError, type JobHandler } from './worker.js';

export const JOB_TYPES = { batch: 'analytics.process-batch', notify: 'orders.notify' } as const;

function parsePayload<S extends z.ZodType>(schema: S, v: unknown): z.infer<S> {
  const parsed = schema.safeParse(v);
  if (!parsed.success) throw new PermanentJobError('job payload does not match its schema');
  return parsed.data;
}

export interface HandlerDeps {
  catalog: CatalogClient;
  logger: Logger;
  concurrency: number;
}

export function jobHandlers({ catalog, logger, concurrency }: HandlerDeps): Record<string, JobHandler> {
  return {
    /** Fetches each product (bounded parallelism) and summarises them; unknown ids are reported, not fatal. */
    [JOB_TYPES.batch]: async (payload, signal) => {
      const input = parsePayload(BatchJobPayload, payload);
      const limit = pLimit(concurrency);
      const missing: number[] = [];
      const found = await Promise.all(
        input.productIds.map((id) =>
          limit(async (): Promise<CatalogProduct | undefined> => {
            try {
              return await catalog.getProduct(id);
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
      // Simulated heavy work, so the demo shows long-running jobs, lease renewal and takeover after a crash.
      if (input.simulateWorkMs > 0)
        await delay(input.simulateWorkMs, undefined, { signal }).catch(() => undefined);
      const products = found.filter((p): p is CatalogProduct => p !== undefined);
      return { summary: summarizeProducts(products), missing: missing.sort((a, b) => a - b) };
    },

    /** Confirms the order still exists in catalog, then "sends" the notification (a log line in this demo). */
    [JOB_TYPES.notify]: async (payload) => {
      const input = parsePayload(NotifyJobPayload, payload);
      const order = await catalog.getOrder(input.orderId);
      logger.info('order notification sent', { orderId: order.id, channel: 'log', total: order.total });
      return { orderId: order.id, channel: 'log', notifiedAt: new Date().toISOString() };
    },
  };
}
