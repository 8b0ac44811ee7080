import { natsStreamReplicasEnv } from '@obsdemo/contracts';
import { FAULT_ENV, env } from '@obsdemo/service-kit';
import { z } from 'zod';

export const InvoicesConfigSchema = z.object({
  INVOICES_PORT: env.port(8002),
  /** All interfaces in a container; tests and local runs pass 127.0.0.1. */
  INVOICES_HOST: env.string('0.0.0.0'),
  DB_HOST: env.string('127.0.0.1'),
  DB_PORT: env.port(5432),
  DB_NAME: env.string('invoices'),
  DB_USER: env.string('invoices'),
  /** Required: there is no default password. */
  DB_PASSWORD: z.string().min(1, 'a non-empty password (there is no default)'),
  DB_POOL_MIN: env.int(0, 0, 100),
  DB_POOL_MAX: env.int(10, 1, 100),
  DB_POOL_ACQUIRE_MS: env.int(10_000, 100, 120_000),
  DB_QUERY_TIMEOUT_MS: env.int(10_000, 100, 600_000),
  DB_CONNECT_TIMEOUT_MS: env.int(5_000, 100, 120_000),
  DB_POOL_IDLE_MS: env.int(10_000, 100, 600_000),
  NATS_URL: env.string('nats://127.0.0.1:4222'),
  /**
   * Servers that keep the ORDERS stream and the durable consumer's state (spec.messaging.nats.replicas); an existing
   * stream or consumer is scaled to it.
   */
  NATS_STREAM_REPLICAS: natsStreamReplicasEnv,
  /** Durable consumer name: replicas sharing it share the work. */
  CONSUMER_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, '1-64 letters, digits, _ or -')
    .default('invoices'),
  /** Messages requested per pull. */
  CONSUMER_BATCH_SIZE: env.int(50, 1, 1000),
  /** How long JetStream waits for an ack before redelivering (e.g. after a crash mid-message). */
  CONSUMER_ACK_WAIT_MS: env.int(30_000, 1000, 600_000),
  /** Deliveries of one message before it is parked instead of retried. */
  CONSUMER_MAX_ATTEMPTS: env.int(5, 1, 100),
  CONSUMER_RETRY_BASE_MS: env.int(1000, 10, 60_000),
  CONSUMER_RETRY_MAX_MS: env.int(30_000, 10, 600_000),
  /** VAT applied on top of the order total. */
  INVOICE_TAX_RATE: env.ratio(0.2),
  INVOICE_PAYMENT_TERMS_DAYS: env.int(30, 0, 365),
  SHUTDOWN_DRAIN_MS: env.int(10_000, 0, 120_000),
  ...FAULT_ENV,
  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'debug'], 'one of error, warn, info, debug').default('info'),
});

export type InvoicesConfig = z.infer<typeof InvoicesConfigSchema>;

/** What /info shows: the effective settings, never credentials. */
export function configSummary(config: InvoicesConfig): Record<string, unknown> {
  const { DB_PASSWORD: _secret, ...rest } = config;
  return rest;
}
