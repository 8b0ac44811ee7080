import { describe, it, expect, afterAll, beforeEach } from '@jest/globals';
import { SpanKind, context, trace } from '@opentelemetry/api';
import type { JetStreamPublishOptions, MsgHdrs, PubAck } from 'nats';
import {
  deserializeContext,
  publishWithTrace,
  serializeContext,
  withConsumerSpan,
  type JetStreamPublisher,
} from '../../src/nats.js';
import { installInMemoryTracing } from '../../../telemetry/test/unit/tracing-fixture.js';

const tracing = installInMemoryTracing();
afterAll(() => tracing.uninstall());
beforeEach(() => tracing.exporter.reset());

/** Captures what would go on the wire; the real JetStream round trip is covered by catalog's integration tests. */
class RecordingPublisher implements JetStreamPublisher {
  sent: { subject: string; payload?: Uint8Array; options?: Partial<JetStreamPublishOptions> }[] = [];
  fail = false;
  async publish(subject: string, payload?: Uint8Array, options?: Partial<JetStreamPublishOptions>) {
    if (this.fail) throw new Error('TIMEOUT');
    this.sent.push({ subject, payload, options });
    return { stream: 'ORDERS', seq: this.sent.length, duplicate: false, domain: '' } as PubAck;
  }
}

const payload = new TextEncoder().encode('{"orderId":1}');

describe('publishWithTrace / withConsumerSpan', () => {
  it('makes the CONSUMER span a direct child of the PRODUCER span', async () => {
    const js = new RecordingPublisher();
    const tracer = trace.getTracer('test');
    await tracer.startActiveSpan('POST /orders', async (server) => {
      await publishWithTrace(js, 'orders.created', payload, { msgId: '1' });
      server.end();
    });
    const sent = js.sent[0]!;
    expect(sent.options?.msgID).toBe('1');
    const headers = sent.options?.headers as MsgHdrs;
    expect(headers.get('traceparent')).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);

    let handlerTraceId = '';
    await withConsumerSpan({ subject: 'orders.created', headers, data: payload }, async () => {
      handlerTraceId = trace.getActiveSpan()?.spanContext().traceId ?? '';
    });

    const spans = tracing.exporter.getFinishedSpans();
    const server = spans.find((s) => s.name === 'POST /orders')!;
    const producer = spans.find((s) => s.kind === SpanKind.PRODUCER)!;
    const consumer = spans.find((s) => s.kind === SpanKind.CONSUMER)!;
    expect(producer.name).toBe('send orders.created');
    expect(producer.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(consumer.parentSpanContext?.spanId).toBe(producer.spanContext().spanId);
    expect(consumer.spanContext().traceId).toBe(server.spanContext().traceId);
    expect(consumer.links).toHaveLength(0);
    expect(handlerTraceId).toBe(server.spanContext().traceId);
    expect(producer.attributes).toMatchObject({
      'messaging.system': 'nats',
      'messaging.destination.name': 'orders.created',
      'messaging.operation.type': 'send',
      'messaging.message.id': '1',
    });
    expect(consumer.attributes).toMatchObject({ 'messaging.operation.type': 'process' });
  });

  it('uses an explicit parent context, e.g. one restored from an outbox row', async () => {
    const js = new RecordingPublisher();
    const tracer = trace.getTracer('test');
    const stored = tracer.startActiveSpan('request', (span) => {
      const carrier = serializeContext();
      span.end();
      return { carrier, spanId: span.spanContext().spanId };
    });
    expect(Object.keys(stored.carrier)).toContain('traceparent');
    // Later, outside the request: no active span.
    expect(trace.getSpan(context.active())).toBeUndefined();
    await publishWithTrace(js, 'orders.created', payload, {
      msgId: '2',
      parent: deserializeContext(stored.carrier),
    });
    const producer = tracing.exporter.getFinishedSpans().find((s) => s.kind === SpanKind.PRODUCER)!;
    expect(producer.parentSpanContext?.spanId).toBe(stored.spanId);
  });

  it('marks the PRODUCER span as failed and rethrows when publishing fails', async () => {
    const js = new RecordingPublisher();
    js.fail = true;
    await expect(publishWithTrace(js, 'orders.created', payload, { msgId: '3' })).rejects.toThrow('TIMEOUT');
    const producer = tracing.exporter.getFinishedSpans().find((s) => s.kind === SpanKind.PRODUCER)!;
    expect(producer.status.code).toBe(2);
  });

  it('starts a new trace for messages without trace headers and records handler errors', async () => {
    await expect(
      withConsumerSpan({ subject: 'orders.created', data: payload }, async () => {
        throw new Error('bad event');
      }),
    ).rejects.toThrow('bad event');
    const consumer = tracing.exporter.getFinishedSpans().find((s) => s.kind === SpanKind.CONSUMER)!;
    expect(consumer.parentSpanContext).toBeUndefined();
    expect(consumer.status.code).toBe(2);
  });
});
