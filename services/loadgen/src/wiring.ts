import { createHttpMetrics, createLogger, createRegistry, type Logger } from '@obsdemo/telemetry';
import { buildOpenApi } from '@obsdemo/service-kit';
import type { Express } from 'express';
import type { OpenMetricsContentType, Registry } from 'prom-client';
import { createApp } from './app.js';
import { CatalogPool } from './catalog-pool.js';
import { configSummary, type LoadgenConfig } from './config.js';
import { pickScenario } from './mix.js';
import { createLoadMetrics, createRunner, registerInFlightGauge } from './runner.js';
import { OpenLoopScheduler, type Clock } from './scheduler.js';

export interface Loadgen {
  app: Express;
  scheduler: OpenLoopScheduler;
  logger: Logger;
  registry: Registry<OpenMetricsContentType>;
}

export interface LoadgenOptions {
  version: string;
  isShuttingDown?: () => boolean;
  logger?: Logger;
  random?: () => number;
  clock?: Clock;
}

/** Builds the whole service from validated config; shared by main.ts and the tests. */
export function buildLoadgen(config: LoadgenConfig, options: LoadgenOptions): Loadgen {
  const logger = options.logger ?? createLogger({ service: 'loadgen', level: config.LOG_LEVEL });
  const registry = createRegistry('loadgen');
  const http = createHttpMetrics(registry);
  const pool = new CatalogPool();
  const metrics = createLoadMetrics(registry, config.LOADGEN_RPS);
  const send = createRunner({
    targetUrl: config.LOADGEN_TARGET_URL,
    token: config.LOADGEN_TOKEN,
    timeoutMs: config.LOADGEN_REQUEST_TIMEOUT_MS,
    pool,
    metrics,
    logger,
    random: options.random,
  });
  const scheduler = new OpenLoopScheduler({
    rps: config.LOADGEN_RPS,
    maxInFlight: config.LOADGEN_MAX_IN_FLIGHT,
    durationMs: config.LOADGEN_DURATION_SECONDS > 0 ? config.LOADGEN_DURATION_SECONDS * 1000 : undefined,
    pick: () => pickScenario(config.LOADGEN_MIX, options.random),
    send,
    onDropped: (scenario) => metrics.dropped.inc({ scenario }),
    onFinished: () => logger.info('duration reached; no more requests are scheduled'),
    clock: options.clock,
  });
  registerInFlightGauge(registry, () => scheduler.inFlight);
  const app = createApp({
    logger,
    metrics: http,
    info: () => ({
      name: 'loadgen',
      version: options.version,
      running: scheduler.running,
      scheduled: scheduler.scheduled,
      dropped: scheduler.dropped,
      inFlight: scheduler.inFlight,
      knownProducts: pool.size,
      config: configSummary(config),
    }),
    openapi: buildOpenApi({
      title: 'loadgen',
      version: options.version,
      description: 'Open-loop traffic generator; only the ops endpoints',
      routes: [],
    }),
    isShuttingDown: options.isShuttingDown ?? (() => false),
  });
  return { app, scheduler, logger, registry };
}
