import { natsStreamReplicasEnv } from '@obsdemo/contracts';
import { FAULT_ENV, env } from '@obsdemo/service-kit';
import { z } from 'zod';

export const CatalogConfigSchema = z.object({
  CATALOG_PORT: env.port(8000),
  /** All interfaces in a container; tests and local runs pass 127.0.0.1. */
  CATALOG_HOST: env.string('0.0.0.0'),
  DB_HOST: env.string('127.0.0.1'),
  DB_PORT: env.port(5432),
  DB_NAME: env.string('catalog'),
  DB_USER: env.string('catalog'),
  /** Required: there is no default password. */
  DB_PASSWORD: z.string().min(1, 'a non-empty password (there is no default)'),
  DB_POOL_MIN: env.int(0, 0, 100),
  DB_POOL_MAX: env.int(10, 1, 100),
  DB_POOL_ACQUIRE_MS: env.int(10_000, 100, 120_000),
  DB_QUERY_TIMEOUT_MS: env.int(10_000, 100, 600_000),
  DB_CONNECT_TIMEOUT_MS: env.int(5_000, 100, 120_000),
  DB_POOL_IDLE_MS: env.int(10_000, 100, 600_000),
  NATS_URL: env.string('nats://127.0.0.1:4222'),
  /** Servers that keep the ORDERS stream (spec.messaging.nats.replicas); an existing stream is scaled to it. */
  NATS_STREAM_REPLICAS: natsStreamReplicasEnv,
  OUTBOX_POLL_MS: env.int(500, 10, 60_000),
  OUTBOX_BATCH_SIZE: env.int(100, 1, 1000),
  OUTBOX_PUBLISH_TIMEOUT_MS: env.int(2000, 100, 60_000),
  /** Product read cache (CR spec.services.catalog.cache: enabled, maxEntries, ttlSeconds). */
  CACHE_ENABLED: env.bool(true),
  CACHE_MAX_ENTRIES: env.int(10_000, 1, 1_000_000),
  /** Also the longest a replica serves a stale product when invalidations cannot reach it (NATS down). */
  CACHE_TTL_SECONDS: env.int(60, 1, 86_400),
  CURRENCY: z
    .string()
    .regex(/^[A-Z]{3}$/, 'an ISO 4217 currency code such as EUR')
    .default('EUR'),
  BODY_LIMIT_BYTES: env.int(100 * 1024, 1024, 10 * 1024 * 1024),
  SLOW_DELAY_MS: env.int(2000, 0, 60_000),
  ERROR_RATE: env.ratio(0.5),
  ...FAULT_ENV,
  SHUTDOWN_DRAIN_MS: env.int(10_000, 0, 120_000),
  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'debug'], 'one of error, warn, info, debug').default('info'),
});

export type CatalogConfig = z.infer<typeof CatalogConfigSchema>;

/** What /info shows: the effective settings, never credentials. */
export function configSummary(config: CatalogConfig): Record<string, unknown> {
  const { DB_PASSWORD: _secret, ...rest } = config;
  return rest;
}
