import { describe, it, expect, afterAll, beforeAll } from '@jest/globals';
import { SeverityNumber, logs, trace } from '@opentelemetry/api';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { PassThrough } from 'node:stream';
import { createLogger } from '../../src/logger.js';
import { REDACTED } from '../../src/redact.js';
import { installInMemoryTracing } from './tracing-fixture.js';

const tracing = installInMemoryTracing();
const exporter = new InMemoryLogRecordExporter();
beforeAll(() => {
  logs.setGlobalLoggerProvider(
    new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter })] }),
  );
});
afterAll(() => {
  logs.disable();
  tracing.uninstall();
});

const flush = () => new Promise((resolve) => setImmediate(resolve));
const quiet = () => new PassThrough();

describe('createLogger with otlp', () => {
  it('emits each line as a log record: body, severity, fields as attributes, the trace and span of the call', async () => {
    exporter.reset();
    const logger = createLogger({ service: 'catalog', stream: quiet(), otlp: true });
    const ids = trace.getTracer('test').startActiveSpan('place order', (span) => {
      logger.warn('order placed', { orderId: 7, items: [{ productId: 2 }] });
      span.end();
      return span.spanContext();
    });
    await flush();
    const [record, ...rest] = exporter.getFinishedLogRecords();
    expect(rest).toHaveLength(0);
    expect(record?.body).toBe('order placed');
    expect(record?.severityNumber).toBe(SeverityNumber.WARN);
    expect(record?.severityText).toBe('warn');
    expect(record?.attributes).toEqual({ orderId: 7, items: [{ productId: 2 }] });
    expect(record?.spanContext?.traceId).toBe(ids.traceId);
    expect(record?.spanContext?.spanId).toBe(ids.spanId);
    expect(record?.instrumentationScope.name).toBe('@obsdemo/catalog');
  });

  it('exports what stdout shows: secrets redacted', async () => {
    exporter.reset();
    createLogger({ service: 'catalog', stream: quiet(), otlp: true }).info('connecting', {
      password: 'hunter2',
      url: 'postgres://app:hunter2@db:5432/catalog',
    });
    await flush();
    const [record] = exporter.getFinishedLogRecords();
    expect(record?.attributes).toEqual({
      password: REDACTED,
      url: `postgres://app:${REDACTED}@db:5432/catalog`,
    });
    expect(JSON.stringify(record?.attributes)).not.toContain('hunter2');
  });

  it('a line outside any span has no trace context; an error keeps its stack as exception.stacktrace', async () => {
    exporter.reset();
    createLogger({ service: 'invoices', stream: quiet(), otlp: true }).error('failed', new Error('boom'));
    await flush();
    const [record] = exporter.getFinishedLogRecords();
    expect(record?.spanContext).toBeUndefined();
    expect(record?.severityNumber).toBe(SeverityNumber.ERROR);
    expect(String(record?.attributes['exception.stacktrace'])).toContain('Error: boom');
  });

  it('emits nothing without otlp (the default when telemetry does not export logs)', async () => {
    exporter.reset();
    createLogger({ service: 'catalog', stream: quiet() }).info('stdout only');
    await flush();
    expect(exporter.getFinishedLogRecords()).toHaveLength(0);
  });
});
