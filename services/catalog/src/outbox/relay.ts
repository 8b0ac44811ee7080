import { ORDERS_STREAM, ensureOrdersStream, natsServers, type StreamReplicas } from '@obsdemo/contracts';
import type { Logger } from '@obsdemo/telemetry';
import { Backoff, deserializeContext, publishWithTrace } from '@obsdemo/service-kit';
import { connect, type JetStreamClient, type NatsConnection } from 'nats';
import { Counter, Gauge, type OpenMetricsContentType, type Registry } from 'prom-client';
import { QueryTypes, type Sequelize } from 'sequelize';

export interface RelayOptions {
  sequelize: Sequelize;
  natsUrl: string;
  /** Servers that keep the ORDERS stream; an existing stream with another count is scaled to it. */
  streamReplicas: StreamReplicas;
  logger: Logger;
  registry: Registry<OpenMetricsContentType>;
  pollMs: number;
  batchSize: number;
  publishTimeoutMs: number;
  /** Name shown in NATS monitoring. */
  clientName?: string;
}

interface PendingRow {
  id: string;
  msg_id: string;
  subject: string;
  payload: unknown;
  trace_context: Record<string, string>;
}

/**
 * Moves committed outbox rows to JetStream. Rows are claimed with FOR UPDATE SKIP LOCKED, so several replicas
 * never publish the same row at once; a row is marked sent only after JetStream acknowledged it, and
 * `Nats-Msg-Id` = order id makes a re-publish after a crash between ack and commit a no-op.
 */
export class OutboxRelay {
  private nc: NatsConnection | undefined;
  private js: JetStreamClient | undefined;
  private streamReady = false;
  private stopped = false;
  /** Ends the current sleep early. */
  private interrupt: (() => void) | undefined;
  /** Whether notify() may end the current sleep (not during an error backoff). */
  private wakeable = false;
  /** A notify() that arrived while a batch was running; the loop then skips its next poll sleep. */
  private woken = false;
  private loop: Promise<void> | undefined;
  private readonly published: Counter<'subject' | 'outcome'>;

  constructor(private readonly options: RelayOptions) {
    this.published = new Counter({
      name: 'outbox_events_published_total',
      help: 'Outbox rows handed to JetStream, by subject and outcome (published, duplicate, failed: each row of a batch not acknowledged).',
      labelNames: ['subject', 'outcome'],
      registers: [options.registry],
    });
    const { sequelize, logger } = options;
    new Gauge({
      name: 'messaging_outbox_pending',
      help: 'Committed outbox rows not yet acknowledged by JetStream (the backlog before the broker).',
      registers: [options.registry],
      async collect() {
        try {
          const [row] = await sequelize.query<{ pending: string }>(
            'SELECT count(*) AS pending FROM outbox WHERE sent_at IS NULL',
            { type: QueryTypes.SELECT },
          );
          this.set(Number(row?.pending ?? 0));
        } catch (error) {
          // A scrape during a database outage keeps the last value rather than failing the whole /metrics.
          logger.debug('outbox backlog unavailable for metrics', { err: (error as Error).message });
        }
      },
    });
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Publish now rather than at the next poll. */
  notify(): void {
    if (!this.interrupt) this.woken = true;
    else if (this.wakeable) this.interrupt();
  }

  get connected(): boolean {
    return this.nc !== undefined && !this.nc.isClosed();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.interrupt?.();
    await this.loop;
    // Every publish already awaited its ack, so there is nothing to flush; drain() could wait on a dead server.
    await this.nc?.close().catch(() => undefined);
  }

  private async sleep(ms: number, wakeable: boolean): Promise<void> {
    if (this.stopped) return;
    if (wakeable && this.woken) {
      this.woken = false;
      return;
    }
    this.wakeable = wakeable;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.interrupt = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.interrupt = undefined;
  }

  private async run(): Promise<void> {
    // From the poll interval up to 10 s, jittered (@obsdemo/base's one policy); a good round starts it over.
    const backoff = new Backoff({ baseMs: this.options.pollMs, maxMs: 10_000 });
    while (!this.stopped) {
      try {
        const js = await this.jetstream();
        while (!this.stopped && (await this.relayBatch(js)) === this.options.batchSize);
        backoff.reset();
        await this.sleep(this.options.pollMs, true);
      } catch (error) {
        // A NATS server that came back with an empty store has no ORDERS stream: check it again next time.
        this.streamReady = false;
        const retryInMs = backoff.next();
        this.options.logger.warn('outbox relay will retry', { err: (error as Error).message, retryInMs });
        await this.sleep(retryInMs, false);
      }
    }
  }

  private async jetstream(): Promise<JetStreamClient> {
    if (!this.nc || this.nc.isClosed()) {
      // Reconnects forever once connected; only the first connection is retried by the loop.
      this.nc = await connect({
        servers: natsServers(this.options.natsUrl),
        name: this.options.clientName ?? 'catalog-outbox-relay',
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
      });
      this.js = this.nc.jetstream();
      this.streamReady = false;
      this.options.logger.info('outbox relay connected to NATS');
    }
    if (!this.streamReady) {
      const jsm = await this.nc.jetstreamManager();
      const outcome = await ensureOrdersStream(jsm.streams, this.options.streamReplicas);
      if (outcome !== 'unchanged')
        this.options.logger.info(`stream ${outcome}`, {
          stream: ORDERS_STREAM,
          replicas: this.options.streamReplicas,
        });
      this.streamReady = true;
    }
    return this.js ?? this.nc.jetstream();
  }

  /**
   * Publishes one batch; returns how many rows it claimed. The batch's rows are published together, so a batch
   * waits for one round of acks rather than one per row. A failed publish still commits the rows that were
   * acknowledged (and the failed rows' attempt counts), then throws so the loop backs off; the failed rows go
   * again in a later batch, after rows that may be newer (orders are independent events), and `Nats-Msg-Id` makes
   * any repeat a duplicate the stream drops.
   */
  async relayBatch(js: JetStreamClient): Promise<number> {
    const { sequelize, batchSize, publishTimeoutMs } = this.options;
    const outcome = await sequelize.transaction(async (transaction) => {
      const rows = await sequelize.query<PendingRow>(
        `SELECT id, msg_id, subject, payload, trace_context FROM outbox
         WHERE sent_at IS NULL ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED`,
        { replacements: { limit: batchSize }, type: QueryTypes.SELECT, transaction },
      );
      const encoder = new TextEncoder();
      const results = await Promise.all(
        rows.map(async (row) => {
          try {
            const ack = await publishWithTrace(js, row.subject, encoder.encode(JSON.stringify(row.payload)), {
              msgId: row.msg_id,
              parent: deserializeContext(row.trace_context),
              timeoutMs: publishTimeoutMs,
            });
            return { row, ack };
          } catch (error) {
            return { row, error: error instanceof Error ? error : new Error(String(error)) };
          }
        }),
      );
      const sent: string[] = [];
      /** Failed rows by error message: one UPDATE per distinct error, usually one (the connection's). */
      const failed = new Map<string, string[]>();
      let failure: Error | undefined;
      for (const { row, ack, error } of results) {
        if (ack) {
          this.published.inc({ subject: row.subject, outcome: ack.duplicate ? 'duplicate' : 'published' });
          sent.push(row.id);
          continue;
        }
        this.published.inc({ subject: row.subject, outcome: 'failed' });
        failure ??= error;
        const message = error?.message.slice(0, 500) ?? '';
        failed.set(message, [...(failed.get(message) ?? []), row.id]);
      }
      for (const [err, ids] of failed) {
        await sequelize.query(
          'UPDATE outbox SET attempts = attempts + 1, last_error = :err WHERE id IN (:ids)',
          {
            replacements: { ids, err },
            transaction,
          },
        );
      }
      if (sent.length > 0) {
        await sequelize.query('UPDATE outbox SET sent_at = now(), last_error = NULL WHERE id IN (:ids)', {
          replacements: { ids: sent },
          transaction,
        });
      }
      return { claimed: rows.length, failure };
    });
    if (outcome.failure) throw outcome.failure;
    return outcome.claimed;
  }

  /** Rows not yet in the stream, for tests and /info. */
  async pending(): Promise<number> {
    const [row] = await this.options.sequelize.query<{ n: string }>(
      'SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL',
      { type: QueryTypes.SELECT },
    );
    return Number(row?.n ?? 0);
  }
}
