import { FAULT_ENV, env } from '@obsdemo/service-kit';
import { z } from 'zod';

export const ProcessorConfigSchema = z.object({
  PROCESSOR_PORT: env.port(8001),
  /** All interfaces in a container; tests and local runs pass 127.0.0.1. */
  PROCESSOR_HOST: env.string('0.0.0.0'),
  DB_HOST: env.string('127.0.0.1'),
  DB_PORT: env.port(5432),
  DB_NAME: env.string('processor'),
  DB_USER: env.string('processor'),
  /** Required: there is no default password. */
  DB_PASSWORD: z.string().min(1, 'a non-empty password (there is no default)'),
  DB_POOL_MIN: env.int(0, 0, 100),
  DB_POOL_MAX: env.int(10, 1, 100),
  DB_POOL_ACQUIRE_MS: env.int(10_000, 100, 120_000),
  DB_QUERY_TIMEOUT_MS: env.int(10_000, 100, 600_000),
  DB_CONNECT_TIMEOUT_MS: env.int(5_000, 100, 120_000),
  DB_POOL_IDLE_MS: env.int(10_000, 100, 600_000),
  CATALOG_URL: z.url({ protocol: /^https?$/, error: 'an http(s) URL' }).default('http://127.0.0.1:8000'),
  /** Per attempt, including reading the body. */
  CATALOG_TIMEOUT_MS: env.int(3000, 50, 120_000),
  /** Extra attempts for idempotent (GET) calls; POSTs are never retried. */
  CATALOG_RETRIES: env.int(2, 0, 10),
  CATALOG_RETRY_BASE_MS: env.int(100, 1, 60_000),
  CATALOG_RETRY_MAX_MS: env.int(2000, 1, 600_000),
  /** Catalog calls in flight at once for one enrichment or batch. */
  ENRICH_CONCURRENCY: env.int(4, 1, 64),
  JOB_CONCURRENCY: env.int(2, 1, 64),
  JOB_POLL_MS: env.int(500, 10, 60_000),
  /** A job whose worker stopped renewing its lease this long ago is taken over by another worker. */
  JOB_LEASE_MS: env.int(30_000, 500, 3_600_000),
  JOB_MAX_ATTEMPTS: env.int(3, 1, 100),
  JOB_RETRY_BASE_MS: env.int(1000, 10, 600_000),
  JOB_RETRY_MAX_MS: env.int(60_000, 10, 3_600_000),
  BODY_LIMIT_BYTES: env.int(100 * 1024, 1024, 10 * 1024 * 1024),
  SHUTDOWN_DRAIN_MS: env.int(10_000, 0, 120_000),
  ...FAULT_ENV,
  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'debug'], 'one of error, warn, info, debug').default('info'),
});

export type ProcessorConfig = z.infer<typeof ProcessorConfigSchema>;

/** What /info shows: the effective settings, never credentials. */
export function configSummary(config: ProcessorConfig): Record<string, unknown> {
  const { DB_PASSWORD: _secret, ...rest } = config;
  return rest;
}
