import {
  createHttpMetrics,
  createLogger,
  createRegistry,
  type HttpMetrics,
  type Logger,
} from '@obsdemo/telemetry';
import type { Express } from 'express';
import type { OpenMetricsContentType, Registry } from 'prom-client';
import { createApp } from './app.js';
import { configSummary, type CatalogConfig } from './config.js';
import { openDatabase, type Database } from './db/database.js';
import { migrate } from './db/migrations.js';
import { catalogOpenApi } from './openapi.js';
import { OutboxRelay } from './outbox/relay.js';
import { orderService } from './services/orders.js';
import { productService } from './services/products.js';

export interface Catalog {
  app: Express;
  db: Database;
  relay: OutboxRelay;
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
  const db = openDatabase(config, registry);
  const applied = await migrate(db.sequelize);
  if (applied.length > 0) logger.info('migrations applied', { migrations: applied });
  const relay = new OutboxRelay({
    sequelize: db.sequelize,
    natsUrl: config.NATS_URL,
    logger,
    registry,
    pollMs: config.OUTBOX_POLL_MS,
    batchSize: config.OUTBOX_BATCH_SIZE,
    publishTimeoutMs: config.OUTBOX_PUBLISH_TIMEOUT_MS,
  });
  const app = createApp({
    logger,
    metrics,
    products: productService(db.models),
    orders: orderService({
      sequelize: db.sequelize,
      models: db.models,
      currency: config.CURRENCY,
      logger,
      onOutboxWrite: () => relay.notify(),
    }),
    // NATS is deliberately not a readiness dependency: the outbox keeps taking orders through a NATS outage.
    checks: [{ name: 'postgres', check: db.ping }],
    info: () => ({
      name: 'catalog',
      version: options.version,
      natsConnected: relay.connected,
      config: configSummary(config),
    }),
    openapi: catalogOpenApi(options.version),
    isShuttingDown: options.isShuttingDown ?? (() => false),
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    slowDelayMs: config.SLOW_DELAY_MS,
    errorRate: config.ERROR_RATE,
    faults: {
      latencyMs: config.FAULT_LATENCY_MS,
      latencyPercent: config.FAULT_LATENCY_PERCENT,
      errorPercent: config.FAULT_ERROR_PERCENT,
    },
    random: options.random,
  });
  return { app, db, relay, logger, registry, metrics };
}
