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
import { Counter, type OpenMetricsContentType, type Registry } from 'prom-client';
import { createApp } from './app.js';
import { CatalogClient } from './clients/catalog.js';
import { configSummary, type ProcessorConfig } from './config.js';
import { migrate } from './db/migrations.js';
import { jobHandlers } from './jobs/handlers.js';
import { jobStore } from './jobs/store.js';
import { JobWorker } from './jobs/worker.js';
import { processorOpenApi } from './openapi.js';
import { analyticsService } from './services/analytics.js';
import { jobService } from './services/jobs.js';
import { workflowService } from './services/workflow.js';

export interface Processor {
  app: Express;
  db: Database;
  worker: JobWorker;
  logger: Logger;
  registry: Registry<OpenMetricsContentType>;
  metrics: HttpMetrics;
}

export interface ProcessorOptions {
  version: string;
  isShuttingDown?: () => boolean;
  logger?: Logger;
  random?: () => number;
}

/** Builds the whole service from validated config; shared by main.ts and the integration tests. */
export async function buildProcessor(config: ProcessorConfig, options: ProcessorOptions): Promise<Processor> {
  const logger = options.logger ?? createLogger({ service: 'processor', level: config.LOG_LEVEL });
  const registry = createRegistry('processor');
  const metrics = createHttpMetrics(registry);
  const db = openDatabase(config, registry);
  await migrate(db.sequelize, logger);
  const retries = new Counter({
    name: 'upstream_retries_total',
    help: 'Retried calls to a dependency, by upstream and method.',
    labelNames: ['upstream', 'method'],
    registers: [registry],
  });
  const catalog = new CatalogClient({
    baseUrl: config.CATALOG_URL,
    timeoutMs: config.CATALOG_TIMEOUT_MS,
    retries: config.CATALOG_RETRIES,
    retryBaseMs: config.CATALOG_RETRY_BASE_MS,
    retryMaxMs: config.CATALOG_RETRY_MAX_MS,
    random: options.random,
    onRetry: (site, error, attempt, delayMs) => {
      retries.inc({ upstream: site.upstream, method: site.method });
      logger.warn('retrying catalog call', {
        path: site.path,
        attempt: attempt + 1,
        retryInMs: delayMs,
        err: (error as Error).message,
      });
    },
  });
  const store = jobStore(db.sequelize);
  const worker = new JobWorker({
    store,
    handlers: jobHandlers({ catalog, logger, concurrency: config.ENRICH_CONCURRENCY }),
    logger,
    registry,
    concurrency: config.JOB_CONCURRENCY,
    pollMs: config.JOB_POLL_MS,
    leaseMs: config.JOB_LEASE_MS,
    retry: { baseMs: config.JOB_RETRY_BASE_MS, maxMs: config.JOB_RETRY_MAX_MS },
    stopGraceMs: config.SHUTDOWN_DRAIN_MS,
    random: options.random,
  });
  const jobs = jobService({ store, maxAttempts: config.JOB_MAX_ATTEMPTS, onEnqueue: () => worker.notify() });
  const app = createApp({
    logger,
    metrics,
    analytics: analyticsService(catalog),
    workflow: workflowService({ catalog, jobs, concurrency: config.ENRICH_CONCURRENCY }),
    jobs,
    dependencyFailures: [POSTGRES_UNAVAILABLE],
    // Catalog is deliberately not a readiness dependency: during a catalog outage this replica still serves job
    // status and answers catalog-backed routes with a clear 502/504, which beats being pulled out of the
    // Service (every replica would be, turning those answers into connection errors at the gateway).
    checks: [{ name: 'postgres', check: db.ping }],
    info: () => ({ name: 'processor', version: options.version, config: configSummary(config) }),
    openapi: processorOpenApi(options.version),
    isShuttingDown: options.isShuttingDown ?? (() => false),
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    faults: faultConfig(config),
    random: options.random,
  });
  return { app, db, worker, logger, registry, metrics };
}
