import { POSTGRES_UNAVAILABLE, isDatabaseUnavailable, openDatabase, type Database } from '@obsdemo/database';
import {
  createHttpMetrics,
  createLogger,
  createRegistry,
  type HttpMetrics,
  type Logger,
} from '@obsdemo/telemetry';
import { faultConfig } from '@obsdemo/service-kit';
import type { Express } from 'express';
import type { OpenMetricsContentType, Registry } from 'prom-client';
import { createApp } from './app.js';
import { configSummary, type InvoicesConfig } from './config.js';
import { OrdersConsumer } from './consumer/orders-consumer.js';
import { migrate } from './db/migrations.js';
import { defineModels, type Models } from './db/models.js';
import { computeInvoice } from './domain/invoice.js';
import { invoicesOpenApi } from './openapi.js';
import { invoiceService } from './services/invoices.js';

export interface Invoices {
  app: Express;
  db: Database & { models: Models };
  consumer: OrdersConsumer;
  logger: Logger;
  registry: Registry<OpenMetricsContentType>;
  metrics: HttpMetrics;
}

export interface InvoicesOptions {
  version: string;
  isShuttingDown?: () => boolean;
  logger?: Logger;
  random?: () => number;
}

/** Builds the whole service from validated config; shared by main.ts and the integration tests. */
export async function buildInvoices(config: InvoicesConfig, options: InvoicesOptions): Promise<Invoices> {
  const logger = options.logger ?? createLogger({ service: 'invoices', level: config.LOG_LEVEL });
  const registry = createRegistry('invoices');
  const metrics = createHttpMetrics(registry);
  const database = openDatabase(config, registry);
  const db = { ...database, models: defineModels(database.sequelize) };
  await migrate(db.sequelize, logger);
  const invoices = invoiceService(db);
  const terms = { taxRate: config.INVOICE_TAX_RATE, paymentTermsDays: config.INVOICE_PAYMENT_TERMS_DAYS };
  const consumer = new OrdersConsumer({
    natsUrl: config.NATS_URL,
    streamReplicas: config.NATS_STREAM_REPLICAS,
    durable: config.CONSUMER_NAME,
    batchSize: config.CONSUMER_BATCH_SIZE,
    ackWaitMs: config.CONSUMER_ACK_WAIT_MS,
    retry: {
      maxAttempts: config.CONSUMER_MAX_ATTEMPTS,
      baseMs: config.CONSUMER_RETRY_BASE_MS,
      maxMs: config.CONSUMER_RETRY_MAX_MS,
    },
    logger,
    registry,
    handle: (event) => invoices.record(computeInvoice(event, terms)),
    // An event whose numbers do not add up throws here: the batch is then handled one by one, and that one parked.
    handleBatch: (events) => invoices.recordMany(events.map((event) => computeInvoice(event, terms))),
    park: (input) => invoices.park(input),
    store: { isDown: isDatabaseUnavailable, probe: db.ping },
    random: options.random,
  });
  const app = createApp({
    logger,
    metrics,
    invoices,
    dependencyFailures: [POSTGRES_UNAVAILABLE],
    // Without NATS this replica writes no invoices, so it should not count as ready.
    checks: [
      { name: 'postgres', check: db.ping },
      { name: 'nats', check: () => consumer.ping() },
    ],
    info: () => ({
      name: 'invoices',
      version: options.version,
      natsConnected: consumer.connected,
      config: configSummary(config),
    }),
    openapi: invoicesOpenApi(options.version),
    isShuttingDown: options.isShuttingDown ?? (() => false),
    // The HTTP API only: the NATS consumer keeps writing invoices, so a fault scenario shows in the API's
    // metrics and traces rather than as a redelivery backlog.
    faults: faultConfig(config),
    random: options.random,
  });
  return { app, db, consumer, logger, registry, metrics };
}
