import { recordSpanError } from '@obsdemo/telemetry';
import {
  ROOT_CONTEXT,
  SpanKind,
  context,
  propagation,
  trace,
  type Context,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
  type Tracer,
} from '@opentelemetry/api';
import { headers as natsHeaders, type JetStreamPublishOptions, type MsgHdrs, type PubAck } from 'nats';

const setter: TextMapSetter<MsgHdrs> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

const getter: TextMapGetter<MsgHdrs | undefined> = {
  keys: (carrier) => carrier?.keys() ?? [],
  get: (carrier, key) => (carrier?.has(key) ? carrier.get(key) : undefined),
};

export interface JetStreamPublisher {
  publish(subject: string, payload?: Uint8Array, options?: Partial<JetStreamPublishOptions>): Promise<PubAck>;
}

export interface PublishOptions {
  /** JetStream deduplicates on this id (`Nats-Msg-Id`), which makes retried publishes safe. */
  msgId: string;
  /** Parent of the PRODUCER span; defaults to the active context. */
  parent?: Context;
  tracer?: Tracer;
  timeoutMs?: number;
}

const TRACER = 'obsdemo.nats';

/** Publishes inside a PRODUCER span and carries its context to consumers in the message headers. */
export async function publishWithTrace(
  js: JetStreamPublisher,
  subject: string,
  payload: Uint8Array,
  options: PublishOptions,
): Promise<PubAck> {
  const tracer = options.tracer ?? trace.getTracer(TRACER);
  const parent = options.parent ?? context.active();
  const span = tracer.startSpan(
    `send ${subject}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': 'nats',
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'publish',
        'messaging.destination.name': subject,
        'messaging.message.id': options.msgId,
        'messaging.message.body.size': payload.byteLength,
      },
    },
    parent,
  );
  const hdrs = natsHeaders();
  propagation.inject(trace.setSpan(parent, span), hdrs, setter);
  try {
    const ack = await js.publish(subject, payload, {
      msgID: options.msgId,
      headers: hdrs,
      ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
    });
    span.setAttributes({ 'messaging.nats.stream': ack.stream, 'messaging.nats.duplicate': ack.duplicate });
    return ack;
  } catch (error) {
    recordSpanError(span, error);
    throw error;
  } finally {
    span.end();
  }
}

export interface ConsumedMessage {
  subject: string;
  headers?: MsgHdrs;
  data: Uint8Array;
}

/** The producer's context as carried in the message headers (ROOT when the message has none). */
export function extractContext(headers: MsgHdrs | undefined): Context {
  return propagation.extract(ROOT_CONTEXT, headers, getter);
}

/**
 * Starts the CONSUMER span of a message, whose parent is the PRODUCER span: Tempo's service graph pairs edges by
 * parent span id, so a span link alone would draw no edge. The caller ends it; `ctx` makes it the active span.
 */
export function startConsumerSpan(
  msg: ConsumedMessage,
  options: { tracer?: Tracer; consumerGroup?: string } = {},
): { span: Span; ctx: Context } {
  const tracer = options.tracer ?? trace.getTracer(TRACER);
  const parent = extractContext(msg.headers);
  const span = tracer.startSpan(
    `process ${msg.subject}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': 'nats',
        'messaging.operation.type': 'process',
        'messaging.destination.name': msg.subject,
        'messaging.message.body.size': msg.data.byteLength,
        ...(options.consumerGroup ? { 'messaging.consumer.group.name': options.consumerGroup } : {}),
      },
    },
    parent,
  );
  return { span, ctx: trace.setSpan(parent, span) };
}

/** Runs the handler in the message's CONSUMER span (startConsumerSpan), ended when the handler settles. */
export async function withConsumerSpan<T>(
  msg: ConsumedMessage,
  handler: (ctx: Context) => Promise<T>,
  options: { tracer?: Tracer; consumerGroup?: string } = {},
): Promise<T> {
  const { span, ctx } = startConsumerSpan(msg, options);
  try {
    return await context.with(ctx, () => handler(ctx));
  } catch (error) {
    recordSpanError(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** Processes a message stream one at a time, each inside its own CONSUMER span. */
export async function consumeWithTrace<M extends ConsumedMessage>(
  messages: AsyncIterable<M>,
  handler: (msg: M, ctx: Context) => Promise<void>,
  options: { tracer?: Tracer; consumerGroup?: string } = {},
): Promise<void> {
  for await (const msg of messages) await withConsumerSpan(msg, (ctx) => handler(msg, ctx), options);
}

/** Serialises the active (or given) context as W3C headers, e.g. to store it next to an outbox row. */
export function serializeContext(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

export function deserializeContext(carrier: Record<string, string>): Context {
  return propagation.extract(ROOT_CONTEXT, carrier);
}
