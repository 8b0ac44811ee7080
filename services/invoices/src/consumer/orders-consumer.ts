import {
  ORDERS_STREAM,
  ORDER_CREATED_SUBJECT,
  decodeOrderCreated,
  ensureOrdersStream,
  natsServers,
  type OrderCreated,
  type StreamReplicas,
} from '@obsdemo/contracts';
import type { Logger } from '@obsdemo/telemetry';
import { Backoff, startConsumerSpan, withConsumerSpan } from '@obsdemo/service-kit';
import { SpanStatusCode, context, trace, type Context, type Span } from '@opentelemetry/api';
import {
  AckPolicy,
  DeliverPolicy,
  connect,
  nanos,
  type Consumer,
  type JsMsg,
  type NatsConnection,
} from 'nats';
import { Counter, Gauge, Histogram, type OpenMetricsContentType, type Registry } from 'prom-client';
import { decideFailure, exhausted, type ParkReason, type RetryPolicy } from '../domain/delivery.js';
import type { ParkInput, RecordOutcome } from '../services/invoices.js';

export interface ConsumerOptions {
  natsUrl: string;
  /**
   * Servers that keep the ORDERS stream (created here if catalog has not yet) and this durable consumer's state; an
   * existing stream or consumer with another count is scaled to it.
   */
  streamReplicas: StreamReplicas;
  durable: string;
  batchSize: number;
  ackWaitMs: number;
  retry: RetryPolicy;
  logger: Logger;
  registry: Registry<OpenMetricsContentType>;
  /** Writes the invoice; resolves only after the transaction committed. */
  handle: (event: OrderCreated) => Promise<RecordOutcome>;
  /**
   * Writes the invoices of several events together (one statement, one commit), each outcome in the order given.
   * Used for the messages that arrived while the previous ones were being written; when it fails, each message is
   * handled on its own with `handle`, so a poison message or an outage is dealt with as if it had come alone.
   */
  handleBatch?: (events: OrderCreated[]) => Promise<RecordOutcome[]>;
  park: (input: ParkInput) => Promise<void>;
  /**
   * The store that `handle` and `park` write to. While it is down, consumption pauses until `probe` succeeds, so an
   * outage costs each message at most one delivery instead of its whole retry budget (which would park it).
   */
  store?: { isDown: (err: unknown) => boolean; probe: () => Promise<void> };
  random?: () => number;
}

type Result = RecordOutcome | 'retried' | 'parked';
interface Decoded {
  msg: JsMsg;
  event: OrderCreated;
}
/** A message for the single path, with its CONSUMER span if a failed batch write already started it. */
interface Alone {
  msg: JsMsg;
  started?: { span: Span; ctx: Context };
}

/** Shortest pull expiry JetStream accepts; it bounds how long stop() waits for an idle pull to return. */
const PULL_EXPIRES_MS = 1000;

/**
 * How long a message handed back untried (on stop, or during a store outage) is held: longer than a pull lasts.
 * Handed back with no delay, it would land in the pull still open on this replica, be handed back again, and so
 * on up to the pull's size, each time a delivery against its budget; the next replica would then park it as
 * exhausted although it was never tried.
 */
const HAND_BACK_DELAY_MS = 2 * PULL_EXPIRES_MS;

/** The event, or undefined when the message cannot be decoded (the single path then parks it, with the reason). */
function tryDecode(msg: JsMsg): OrderCreated | undefined {
  try {
    return decodeOrderCreated(msg.data);
  } catch {
    return undefined;
  }
}

function headerRecord(msg: JsMsg): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of msg.headers?.keys() ?? []) out[key] = msg.headers?.get(key) ?? '';
  return out;
}

/**
 * A JetStream durable pull consumer on orders.created. Each message is acked only after its invoice committed;
 * temporary failures are nak'ed with a growing delay; messages that can never succeed, or have used up their
 * deliveries, are parked in the database and acked. The server's own max_deliver is left unlimited so no
 * message is ever dropped without a parked row.
 */
export class OrdersConsumer {
  private nc: NatsConnection | undefined;
  private consumer: Consumer | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private storeDown = false;
  private readonly consumed: Counter<'subject' | 'result'>;
  private readonly parked: Counter<'reason'>;
  private readonly duration: Histogram<'subject' | 'result'>;
  private readonly written: Histogram;

  constructor(private readonly options: ConsumerOptions) {
    const registers = [options.registry];
    this.consumed = new Counter({
      name: 'messaging_messages_consumed_total',
      help: 'Messages handled by the consumer, by subject and result (created, duplicate, retried, parked).',
      labelNames: ['subject', 'result'],
      registers,
    });
    this.parked = new Counter({
      name: 'messaging_messages_parked_total',
      help: 'Poison messages parked for a person to inspect, by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.duration = new Histogram({
      name: 'messaging_process_duration_seconds',
      help: 'Time from receiving a message to acking, nak-ing or parking it.',
      labelNames: ['subject', 'result'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.written = new Histogram({
      name: 'messaging_process_batch_size',
      help: 'Messages whose invoices were written by one statement: 1 when they come one at a time, more under a backlog.',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers,
    });
    const info = () => this.consumer?.info().catch(() => undefined);
    new Gauge({
      name: 'messaging_consumer_lag',
      help: 'Messages in the stream not yet delivered to the durable consumer (num_pending).',
      labelNames: ['stream', 'consumer'],
      registers,
      async collect() {
        const current = await info();
        if (current) this.set({ stream: ORDERS_STREAM, consumer: options.durable }, current.num_pending);
      },
    });
    new Gauge({
      name: 'messaging_consumer_ack_pending',
      help: 'Messages delivered to the durable consumer and not yet acknowledged.',
      labelNames: ['stream', 'consumer'],
      registers,
      async collect() {
        const current = await info();
        if (current) this.set({ stream: ORDERS_STREAM, consumer: options.durable }, current.num_ack_pending);
      },
    });
  }

  start(): void {
    this.loop ??= this.run();
  }

  get connected(): boolean {
    return this.nc !== undefined && !this.nc.isClosed();
  }

  /** Round trip to the server, for readiness. */
  async ping(): Promise<void> {
    if (!this.nc || this.nc.isClosed()) throw new Error('not connected to NATS');
    await this.nc.flush();
  }

  /** Stops pulling, lets the message in hand finish and ack, hands the rest of the batch back, then closes. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    await this.nc?.drain().catch(() => undefined);
  }

  private async sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wake = undefined;
  }

  private async run(): Promise<void> {
    // 500 ms up to 10 s, jittered (@obsdemo/base's one policy); a pull that ended cleanly starts it over.
    const backoff = new Backoff({ baseMs: 500, maxMs: 10_000 }, this.options.random);
    while (!this.stopped) {
      try {
        const consumer = await this.connect();
        await this.pull(consumer);
        backoff.reset();
      } catch (error) {
        if (this.stopped) break;
        const retryInMs = backoff.next();
        this.options.logger.warn('consumer will retry', { err: (error as Error).message, retryInMs });
        await this.sleep(retryInMs);
      }
    }
  }

  private async connect(): Promise<Consumer> {
    if (this.consumer && this.nc && !this.nc.isClosed()) return this.consumer;
    const nc = await connect({
      servers: natsServers(this.options.natsUrl),
      name: `invoices-${this.options.durable}`,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
    });
    try {
      const jsm = await nc.jetstreamManager();
      // Same stream definition as catalog's relay: whichever service starts first creates it.
      const outcome = await ensureOrdersStream(jsm.streams, this.options.streamReplicas);
      if (outcome !== 'unchanged')
        this.options.logger.info(`stream ${outcome}`, {
          stream: ORDERS_STREAM,
          replicas: this.options.streamReplicas,
        });
      const settings = {
        ack_wait: nanos(this.options.ackWaitMs),
        max_ack_pending: 1000,
        num_replicas: this.options.streamReplicas,
      };
      const existing = await jsm.consumers.info(ORDERS_STREAM, this.options.durable).catch(() => undefined);
      if (existing) await jsm.consumers.update(ORDERS_STREAM, this.options.durable, settings);
      else {
        await jsm.consumers.add(ORDERS_STREAM, {
          ...settings,
          durable_name: this.options.durable,
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.All,
          filter_subject: ORDER_CREATED_SUBJECT,
        });
      }
      this.consumer = await nc.jetstream().consumers.get(ORDERS_STREAM, this.options.durable);
    } catch (error) {
      await nc.close();
      throw error;
    }
    this.nc = nc;
    this.options.logger.info('consumer connected', { stream: ORDERS_STREAM, consumer: this.options.durable });
    return this.consumer;
  }

  private async pull(consumer: Consumer): Promise<void> {
    while (!this.stopped) {
      const batch = await consumer.fetch({ max_messages: this.options.batchSize, expires: PULL_EXPIRES_MS });
      // Messages are read as they arrive and handled in groups: whatever arrived while the previous group was being
      // written. One at a time when they trickle in, as many as the pull holds under a backlog.
      const arrived: JsMsg[] = [];
      let ended = false;
      let closed = false;
      let wake: (() => void) | undefined;
      const reader = (async () => {
        try {
          for await (const msg of batch) {
            // After the loop below gave up (an error), the rest of the pull goes back at once.
            if (closed) msg.nak(HAND_BACK_DELAY_MS);
            else arrived.push(msg);
            wake?.();
          }
        } finally {
          ended = true;
          wake?.();
        }
      })();
      // Rethrown by `await reader` below; marked handled here in case the loop throws first.
      reader.catch(() => undefined);
      try {
        while (!ended || arrived.length > 0) {
          if (arrived.length === 0) {
            await new Promise<void>((resolve) => (wake = resolve));
            wake = undefined;
            // One turn of the event loop, so the rest of a burst already received joins this group.
            await new Promise<void>((resolve) => setImmediate(resolve));
            continue;
          }
          const group = arrived.splice(0);
          // Handing the rest back beats making them wait out ack_wait; the other replicas get them shortly.
          if (this.stopped || this.storeDown) for (const msg of group) msg.nak(HAND_BACK_DELAY_MS);
          else await this.processGroup(group);
        }
      } finally {
        // Left unhandled by an error above: back at once rather than after ack_wait.
        closed = true;
        for (const msg of arrived.splice(0)) msg.nak(HAND_BACK_DELAY_MS);
      }
      await reader;
      if (this.storeDown) await this.waitForStore();
    }
  }

  /** One message in its own span; several with one write when there is a `handleBatch`. */
  private async processGroup(group: JsMsg[]): Promise<void> {
    const { handleBatch } = this.options;
    const together: Decoded[] = [];
    const alone: Alone[] = [];
    for (const msg of group) {
      // Messages over their budget, or that cannot be decoded, take the single path, which parks them.
      const event =
        handleBatch && !exhausted(msg.info.deliveryCount, this.options.retry) ? tryDecode(msg) : undefined;
      if (event) together.push({ msg, event });
      else alone.push({ msg });
    }
    if (handleBatch && together.length > 1) alone.push(...(await this.processBatch(together, handleBatch)));
    else alone.unshift(...together.map(({ msg }) => ({ msg })));
    for (const { msg, started } of alone) {
      if (this.stopped || this.storeDown) {
        msg.nak(HAND_BACK_DELAY_MS);
        started?.span.end();
      } else if (started) {
        // process() never throws: every path ends in ack, nak or park.
        await context.with(started.ctx, () => this.process(msg));
        started.span.end();
      } else await withConsumerSpan(msg, () => this.process(msg), { consumerGroup: this.options.durable });
    }
  }

  /**
   * Writes the invoices of `items` with one call, then acks each. Each message keeps its own CONSUMER span (child of
   * its order's PRODUCER span) and its log line; the statement's span is in the first message's trace. If the
   * write fails nothing was written (one statement), and the messages come back, each with its span still open,
   * to be handled one by one.
   */
  private async processBatch(
    items: Decoded[],
    handleBatch: NonNullable<ConsumerOptions['handleBatch']>,
  ): Promise<Alone[]> {
    const startedAt = process.hrtime.bigint();
    const spanned = items.map(({ msg, event }) => {
      const started = startConsumerSpan(msg, { consumerGroup: this.options.durable });
      started.span.setAttributes({
        'messaging.message.id': String(event.orderId),
        'messaging.batch.message_count': items.length,
      });
      return { msg, event, started };
    });
    let outcomes: RecordOutcome[];
    try {
      const events = items.map((i) => i.event);
      outcomes = await context.with(spanned[0]?.started.ctx ?? context.active(), () => handleBatch(events));
      if (outcomes.length !== items.length)
        throw new Error(`${outcomes.length} outcomes for ${items.length} events`);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      for (const { started } of spanned)
        started.span.addEvent('batch write failed, handled on its own', { error: message });
      this.options.logger.warn('batch write failed, its messages are handled one by one', {
        err: message,
        messages: items.length,
      });
      return spanned.map(({ msg, started }) => ({ msg, started }));
    }
    this.written.observe(items.length);
    await Promise.all(
      spanned.map(async ({ msg, event, started }, index) => {
        const deliveries = msg.info.deliveryCount;
        const outcome = outcomes[index] ?? 'duplicate';
        const result = await context.with(started.ctx, async (): Promise<Result> => {
          try {
            await msg.ackAck();
            this.options.logger.info('order event processed', {
              orderId: event.orderId,
              result: outcome,
              deliveries,
              streamSequence: msg.seq,
            });
            return outcome;
          } catch (error) {
            // Written, not acked: the redelivery finds the invoice and counts as a duplicate.
            return this.fail(msg, error, deliveries);
          }
        });
        started.span.end();
        const labels = { subject: msg.subject, result };
        this.consumed.inc(labels);
        this.duration.observe(labels, Number(process.hrtime.bigint() - startedAt) / 1e9);
      }),
    );
    return [];
  }

  private async waitForStore(): Promise<void> {
    const store = this.options.store;
    // Probes 250 ms apart at first, up to 5 s, jittered (@obsdemo/base's one policy).
    const backoff = new Backoff({ baseMs: 250, maxMs: 5000 }, this.options.random);
    while (store && this.storeDown && !this.stopped) {
      await this.sleep(backoff.next());
      try {
        await store.probe();
        this.storeDown = false;
        this.options.logger.info('store is back, consumption resumes');
      } catch {
        // The next probe waits longer.
      }
    }
  }

  /** True when `error` means the store is down: the message goes back untried and consumption pauses. */
  private storeFailed(msg: JsMsg, error: unknown): boolean {
    if (!this.options.store?.isDown(error)) return false;
    if (!this.storeDown) {
      this.options.logger.warn('store unavailable, consumption paused', {
        err: error instanceof Error ? error.message : String(error),
        streamSequence: msg.seq,
      });
    }
    this.storeDown = true;
    msg.nak(HAND_BACK_DELAY_MS);
    return true;
  }

  /** Never throws: every path ends in ack, nak or park. */
  private async process(msg: JsMsg): Promise<void> {
    const started = process.hrtime.bigint();
    const deliveries = msg.info.deliveryCount;
    let result: Result;
    try {
      if (exhausted(deliveries, this.options.retry)) {
        await this.parkMessage(
          msg,
          'max_attempts',
          `delivered ${deliveries} times without being acknowledged`,
        );
        result = 'parked';
      } else {
        const event = decodeOrderCreated(msg.data);
        trace.getActiveSpan()?.setAttribute('messaging.message.id', String(event.orderId));
        result = await this.options.handle(event);
        this.written.observe(1);
        await msg.ackAck();
        // Inside the consumer span: the line carries the trace id of the order that caused it.
        this.options.logger.info('order event processed', {
          orderId: event.orderId,
          result,
          deliveries,
          streamSequence: msg.seq,
        });
      }
    } catch (error) {
      result = await this.fail(msg, error, deliveries);
    }
    const labels = { subject: msg.subject, result };
    this.consumed.inc(labels);
    this.duration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
  }

  private async fail(msg: JsMsg, error: unknown, deliveries: number): Promise<Result> {
    const span = trace.getActiveSpan();
    const message = error instanceof Error ? error.message : String(error);
    span?.recordException(error instanceof Error ? error : new Error(message));
    span?.setStatus({ code: SpanStatusCode.ERROR, message });
    if (this.storeFailed(msg, error)) return 'retried';
    const decision = decideFailure(error, deliveries, this.options.retry, this.options.random);
    if (decision.action === 'park') {
      try {
        await this.parkMessage(msg, decision.reason, message);
        return 'parked';
      } catch (parkError) {
        if (this.storeFailed(msg, parkError)) return 'retried';
        this.options.logger.error('could not park message, will retry', {
          err: (parkError as Error).message,
          streamSequence: msg.seq,
        });
        msg.nak(this.options.retry.maxMs);
        return 'retried';
      }
    }
    this.options.logger.warn('message failed, will be redelivered', {
      err: message,
      streamSequence: msg.seq,
      deliveries,
      retryInMs: decision.delayMs,
    });
    msg.nak(decision.delayMs);
    return 'retried';
  }

  private async parkMessage(msg: JsMsg, reason: ParkReason, error: string): Promise<void> {
    await this.options.park({
      stream: msg.info.stream,
      streamSeq: msg.seq,
      subject: msg.subject,
      reason,
      error,
      deliveries: msg.info.deliveryCount,
      payload: new TextDecoder().decode(msg.data),
      headers: headerRecord(msg),
    });
    // Acked, not terminated: the parked row is the record, and an ack's receipt can be confirmed.
    await msg.ackAck();
    this.parked.inc({ reason });
    this.options.logger.warn('message parked', { reason, err: error, streamSequence: msg.seq });
  }
}
