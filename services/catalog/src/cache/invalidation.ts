import { natsServers } from '@obsdemo/contracts';
import type { Logger } from '@obsdemo/telemetry';
import { connect, Events, type NatsConnection } from 'nats';
import { Counter, Histogram, type OpenMetricsContentType, type Registry } from 'prom-client';
import { z } from 'zod';
import type { ProductChange } from './read-cache.js';

/**
 * NATS core subject every catalog replica publishes product changes on and subscribes to. Core NATS, not
 * JetStream: an invalidation is only useful now, and a replica that missed some clears its whole cache instead.
 * (Catalog is the only producer and consumer, so the constant lives here rather than in @obsdemo/contracts.)
 */
export const CACHE_INVALIDATION_SUBJECT = 'catalog.cache.invalidate';

export const CacheInvalidationV1 = z.strictObject({
  v: z.literal(1),
  /** The publishing replica, for logs. */
  replica: z.string().max(200),
  productIds: z.array(z.number().int().positive()).max(10_000),
  /**
   * Whether list pages must go too (ProductChange). Absent means true, so a publisher that predates the field is
   * read the safe way.
   */
  lists: z.boolean().optional(),
  /** Publisher's clock (epoch ms), for the propagation-lag histogram. */
  sentAt: z.number(),
});
export type CacheInvalidationV1 = z.infer<typeof CacheInvalidationV1>;

export interface InvalidationTarget {
  invalidateProducts(ids: readonly number[], change: ProductChange): void;
  clear(): void;
}

export interface InvalidationBusOptions {
  natsUrl: string;
  replica: string;
  cacheName: string;
  target: InvalidationTarget;
  logger: Logger;
  registry: Registry<OpenMetricsContentType>;
  /** Whether to apply other replicas' invalidations (false when this replica's cache is off). */
  subscribe: boolean;
  /** Delay before retrying the first connection. */
  retryMs?: number;
}

/**
 * Tells the other replicas which products changed. A change is always applied to the local cache first (by the
 * caller) and then published; if NATS is unreachable the publish is counted as failed and the other replicas
 * serve the old entry until their TTL ends it.
 */
export class InvalidationBus {
  private nc: NatsConnection | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /**
   * While disconnected the client would buffer publishes and deliver them at some unknown later time; such a
   * publish is dropped and counted as failed instead, so the metric says when the other replicas rely on their TTL.
   */
  private reconnecting = false;
  private readonly published: Counter<'cache' | 'outcome'>;
  private readonly received: Counter<'cache' | 'outcome'>;
  private readonly lag: Histogram<'cache'>;

  constructor(private readonly options: InvalidationBusOptions) {
    const { registry } = options;
    this.published = new Counter({
      name: 'cache_invalidations_published_total',
      help: 'Invalidations this replica sent to the other replicas, by outcome (published, failed).',
      labelNames: ['cache', 'outcome'],
      registers: [registry],
    });
    this.received = new Counter({
      name: 'cache_invalidations_received_total',
      help: 'Invalidations received from other replicas, by outcome (applied, malformed).',
      labelNames: ['cache', 'outcome'],
      registers: [registry],
    });
    this.lag = new Histogram({
      name: 'cache_invalidation_lag_seconds',
      help: 'Time from an invalidation being published to this replica applying it (publisher clock to ours).',
      labelNames: ['cache'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
  }

  get connected(): boolean {
    return this.nc !== undefined && !this.nc.isClosed();
  }

  start(): void {
    this.loop ??= this.connectLoop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    // Publishes are fire-and-forget; draining could wait on a dead server.
    await this.nc?.close().catch(() => undefined);
  }

  /** Publishes the change for the other replicas; never throws, a failure only costs them freshness. */
  publish(productIds: readonly number[], change: ProductChange): void {
    const { cacheName, logger, replica } = this.options;
    const message: CacheInvalidationV1 = {
      v: 1,
      replica,
      productIds: [...productIds],
      lists: change.lists,
      sentAt: Date.now(),
    };
    try {
      if (!this.nc || this.nc.isClosed() || this.reconnecting) throw new Error('not connected to NATS');
      this.nc.publish(CACHE_INVALIDATION_SUBJECT, JSON.stringify(message));
      this.published.inc({ cache: cacheName, outcome: 'published' });
    } catch (error) {
      this.published.inc({ cache: cacheName, outcome: 'failed' });
      logger.warn('cache invalidation not published; other replicas keep the old entries until their TTL', {
        err: (error as Error).message,
        productIds: message.productIds,
      });
    }
  }

  private async connectLoop(): Promise<void> {
    const retryMs = this.options.retryMs ?? 1000;
    let failedBefore = false;
    while (!this.stopped && !this.nc) {
      try {
        const nc = await connect({
          servers: natsServers(this.options.natsUrl),
          name: `catalog-cache-${this.options.replica}`,
          // This replica already applied its own changes before publishing them.
          noEcho: true,
          maxReconnectAttempts: -1,
          reconnectTimeWait: 500,
        });
        if (this.stopped) {
          await nc.close();
          return;
        }
        this.nc = nc;
        // Serving (and caching) went on without NATS, so invalidations from other replicas may have been missed.
        if (failedBefore && this.options.subscribe) this.options.target.clear();
        this.watch(nc);
        this.options.logger.info('cache invalidation connected to NATS', {
          subscribe: this.options.subscribe,
        });
      } catch (error) {
        failedBefore = true;
        this.options.logger.warn('cache invalidation cannot reach NATS, will retry', {
          err: (error as Error).message,
          retryInMs: retryMs,
        });
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, retryMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
      }
    }
  }

  private watch(nc: NatsConnection): void {
    const { target, cacheName, logger } = this.options;
    if (this.options.subscribe) {
      nc.subscribe(CACHE_INVALIDATION_SUBJECT, {
        callback: (error, msg) => {
          if (error) return;
          const parsed = CacheInvalidationV1.safeParse(safeJson(msg.string()));
          if (!parsed.success) {
            // Someone meant to invalidate something; dropping everything is the safe reading.
            target.clear();
            this.received.inc({ cache: cacheName, outcome: 'malformed' });
            logger.warn('malformed cache invalidation; cleared the whole cache', { subject: msg.subject });
            return;
          }
          target.invalidateProducts(parsed.data.productIds, { lists: parsed.data.lists ?? true });
          this.received.inc({ cache: cacheName, outcome: 'applied' });
          this.lag.observe({ cache: cacheName }, Math.max(0, Date.now() - parsed.data.sentAt) / 1000);
          logger.debug('cache invalidation applied', {
            from: parsed.data.replica,
            productIds: parsed.data.productIds,
            lists: parsed.data.lists,
          });
        },
      });
    }
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === Events.Disconnect) this.reconnecting = true;
        if (status.type === Events.Reconnect) {
          this.reconnecting = false;
          // Invalidations sent while we were away are lost (core NATS): start from an empty cache.
          if (this.options.subscribe) target.clear();
          logger.info('cache invalidation reconnected to NATS; cache cleared', {});
        }
      }
    })();
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
