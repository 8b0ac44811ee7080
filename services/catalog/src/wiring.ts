import { POSTGRES_UNAVAILABLE, openDatabase, type Database } from '@obsdemo/database';
import {
  createHttpMetrics,
  createLogger,
  createRegistry,
  type HttpMetrics,
  type Logger,
} from '@obsdemo/telemetry';
import { faultConfig } from '@obsdemo/service-kit';
import type { Express } from 'express';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { OpenMetricsContentType, Registry } from 'prom-client';
import { createApp } from './app.js';
import { InvalidationBus } from './cache/invalidation.js';
import { ReadCache } from './cache/read-cache.js';
import { configSummary, type CatalogConfig } from './config.js';
import { migrate } from './db/migrations.js';
import { defineModels, type Models } from './db/models.js';
import { catalogOpenApi } from './openapi.js';
import { OutboxRelay } from './outbox/relay.js';
import { orderService, type OrderService } from './services/orders.js';
import { cachedProductService } from './services/cached-products.js';
import { productService, type ProductsChanged } from './services/products.js';

export interface Catalog {
  app: Express;
  db: Database & { models: Models };
  relay: OutboxRelay;
  orders: OrderService;
  cache: ReadCache;
  invalidations: InvalidationBus;
  logger: Logger;
  registry: Registry<OpenMetricsContentType>;
  metrics: HttpMetrics;
}

export interface CatalogOptions {
  version: string;
  isShuttingDown?: () => boolean;
  logger?: Logger;
  random?: () => number;
}

/** Builds the whole service from validated config; shared by main.ts and the integration tests. */
export async function buildCatalog(config: CatalogConfig, options: CatalogOptions): Promise<Catalog> {
  const logger = options.logger ?? createLogger({ service: 'catalog', level: config.LOG_LEVEL });
  const registry = createRegistry('catalog');
  const metrics = createHttpMetrics(registry);
  const database = openDatabase(config, registry);
  const db = { ...database, models: defineModels(database.sequelize) };
  await migrate(db.sequelize, logger);
  const relay = new OutboxRelay({
    sequelize: db.sequelize,
    natsUrl: config.NATS_URL,
    streamReplicas: config.NATS_STREAM_REPLICAS,
    logger,
    registry,
    pollMs: config.OUTBOX_POLL_MS,
    batchSize: config.OUTBOX_BATCH_SIZE,
    publishTimeoutMs: config.OUTBOX_PUBLISH_TIMEOUT_MS,
  });
  const cache = new ReadCache({
    name: 'catalog_products',
    enabled: config.CACHE_ENABLED,
    maxEntries: config.CACHE_MAX_ENTRIES,
    ttlMs: config.CACHE_TTL_SECONDS * 1000,
    registry,
  });
  const invalidations = new InvalidationBus({
    natsUrl: config.NATS_URL,
    // The pod name in Kubernetes; the suffix tells apart replicas sharing a host (and tests sharing a process).
    replica: `${hostname()}-${randomUUID().slice(0, 8)}`,
    cacheName: 'catalog_products',
    target: cache,
    logger,
    registry,
    subscribe: cache.enabled,
  });
  // Runs after the commit: evict here at once, then tell the other replicas (published even with the cache off,
  // so replicas that still have it on during a config rollout stay correct).
  const productsChanged: ProductsChanged = (ids, change) => {
    cache.invalidateProducts(ids, change);
    invalidations.publish(ids, change);
  };
  const orders = orderService({
    sequelize: db.sequelize,
    models: db.models,
    currency: config.CURRENCY,
    logger,
    registry,
    onOutboxWrite: () => relay.notify(),
    onProductsChanged: productsChanged,
    isUnavailable: POSTGRES_UNAVAILABLE.matches,
  });
  const app = createApp({
    logger,
    metrics,
    products: cachedProductService(productService(db.models, productsChanged), cache),
    orders,
    dependencyFailures: [POSTGRES_UNAVAILABLE],
    // NATS is deliberately not a readiness dependency: the outbox keeps taking orders through a NATS outage.
    checks: [{ name: 'postgres', check: db.ping }],
    info: () => ({
      name: 'catalog',
      version: options.version,
      natsConnected: relay.connected,
      cache: { enabled: cache.enabled, entries: cache.size, invalidationsConnected: invalidations.connected },
      config: configSummary(config),
    }),
    openapi: catalogOpenApi(options.version),
    isShuttingDown: options.isShuttingDown ?? (() => false),
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    slowDelayMs: config.SLOW_DELAY_MS,
    errorRate: config.ERROR_RATE,
    faults: faultConfig(config),
    random: options.random,
  });
  return { app, db, relay, orders, cache, invalidations, logger, registry, metrics };
}
