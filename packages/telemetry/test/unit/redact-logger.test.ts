import { describe, it, expect, afterAll } from '@jest/globals';
import { trace } from '@opentelemetry/api';
import { PassThrough } from 'node:stream';
import { createLogger } from '../../src/logger.js';
import { REDACTED, redact, redactUrls } from '../../src/redact.js';
import { installInMemoryTracing } from './tracing-fixture.js';

const tracing = installInMemoryTracing();
afterAll(() => tracing.uninstall());

function capture() {
  const stream = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  stream.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
  });
  return { stream, lines };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('redact', () => {
  it('masks secret keys at any depth and passwords inside URLs', () => {
    expect(
      redact({
        password: 'p',
        nested: { apiKey: 'k', authorization: 'Bearer x', keep: 'ok' },
        list: [{ token: 't' }],
        url: 'postgres://app:hunter2@db:5432/catalog',
      }),
    ).toEqual({
      password: REDACTED,
      nested: { apiKey: REDACTED, authorization: REDACTED, keep: 'ok' },
      list: [{ token: REDACTED }],
      url: `postgres://app:${REDACTED}@db:5432/catalog`,
    });
  });

  it('leaves URLs without credentials alone', () => {
    expect(redactUrls('nats://127.0.0.1:4222')).toBe('nats://127.0.0.1:4222');
  });
});

describe('createLogger', () => {
  it('writes JSON lines with service, level, timestamp and fields', async () => {
    const { stream, lines } = capture();
    createLogger({ service: 'catalog', stream }).info('order created', { orderId: 7 });
    await flush();
    expect(lines[0]).toMatchObject({
      level: 'info',
      service: 'catalog',
      message: 'order created',
      orderId: 7,
    });
    expect(typeof lines[0]?.['timestamp']).toBe('string');
    expect(lines[0]).not.toHaveProperty('trace_id');
  });

  it('adds trace_id and span_id of the active span', async () => {
    const { stream, lines } = capture();
    const logger = createLogger({ service: 'catalog', stream });
    const tracer = trace.getTracer('test');
    const ids = tracer.startActiveSpan('work', (span) => {
      logger.info('inside');
      span.end();
      return span.spanContext();
    });
    await flush();
    expect(lines[0]).toMatchObject({ trace_id: ids.traceId, span_id: ids.spanId });
  });

  it('never writes secrets', async () => {
    const { stream, lines } = capture();
    createLogger({ service: 'catalog', stream }).info('connecting postgres://u:pw@h/db', {
      password: 'hunter2',
      config: { DATABASE_URL: 'postgres://u:pw2@h/db', token: 'abc' },
    });
    await flush();
    const text = JSON.stringify(lines[0]);
    for (const secret of ['hunter2', ':pw@', ':pw2@', 'abc']) expect(text).not.toContain(secret);
  });
});
