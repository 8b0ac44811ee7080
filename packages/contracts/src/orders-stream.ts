import { z } from 'zod';
import { ORDERS_STREAM, ORDERS_SUBJECTS } from './orders.js';

/** How many servers keep a copy of the ORDERS stream: one server, or all of a 3- or 5-server JetStream cluster. */
export const STREAM_REPLICAS = [1, 3, 5] as const;
export type StreamReplicas = (typeof STREAM_REPLICAS)[number];

/**
 * NATS_STREAM_REPLICAS, read by every service that may create the ORDERS stream (catalog's outbox relay and
 * invoices' consumer): the operator sets it to spec.messaging.nats.replicas. One schema, so both agree.
 */
export const natsStreamReplicasEnv = z
  .enum(['1', '3', '5'], 'one of 1, 3, 5 (the number of NATS servers that keep the ORDERS stream)')
  .transform((v) => Number(v) as StreamReplicas)
  .default(1);

/**
 * A relay that dies between JetStream's ack and its own commit leaves the outbox row pending; whichever relay runs
 * next re-sends it, and JetStream drops the copy if it arrives within this window. An hour outlasts any outage the
 * relay retries through.
 */
export const ORDERS_DUPLICATE_WINDOW_MS = 60 * 60 * 1000;

/** The ORDERS stream's definition; producer and consumer create the same one, whichever starts first. */
export function ordersStreamConfig(replicas: StreamReplicas) {
  return {
    name: ORDERS_STREAM,
    subjects: [...ORDERS_SUBJECTS],
    // JetStream durations are nanoseconds.
    duplicate_window: ORDERS_DUPLICATE_WINDOW_MS * 1_000_000,
    num_replicas: replicas,
  };
}

export type OrdersStreamConfig = ReturnType<typeof ordersStreamConfig>;

/**
 * The calls of the nats client's `JetStreamManager.streams` that ensureOrdersStream makes, declared here so the
 * contracts package does not depend on the client.
 */
export interface StreamAdmin {
  info(name: string): Promise<{ config: { num_replicas: number } }>;
  add(config: OrdersStreamConfig): Promise<unknown>;
  update(name: string, config: { num_replicas: number }): Promise<unknown>;
}

/** JetStream's API error code for "stream not found". */
const STREAM_NOT_FOUND = 10059;

function isStreamNotFound(error: unknown): boolean {
  const apiError = (error as { api_error?: { err_code?: number } } | null)?.api_error;
  return apiError?.err_code === STREAM_NOT_FOUND;
}

/**
 * Creates the ORDERS stream, or scales an existing one to `replicas` (JetStream moves the copies; no message is
 * lost). Any other failure (a cluster electing a leader, a server away) is thrown for the caller to retry, rather
 * than answered with an `add` that could not succeed either.
 */
export async function ensureOrdersStream(
  streams: StreamAdmin,
  replicas: StreamReplicas,
): Promise<'created' | 'scaled' | 'unchanged'> {
  let current: number;
  try {
    current = (await streams.info(ORDERS_STREAM)).config.num_replicas;
  } catch (error) {
    if (!isStreamNotFound(error)) throw error;
    await streams.add(ordersStreamConfig(replicas));
    return 'created';
  }
  if (current === replicas) return 'unchanged';
  await streams.update(ORDERS_STREAM, { num_replicas: replicas });
  return 'scaled';
}

/**
 * NATS_URL as the nats client takes it: one URL, or several separated by commas (the servers of a cluster, as
 * spec.messaging.nats.url allows). The client itself would read a comma-separated string as one malformed host.
 */
export function natsServers(url: string): string[] {
  return url
    .split(',')
    .map((server) => server.trim())
    .filter((server) => server !== '');
}
