import { describe, it, expect, afterAll } from '@jest/globals';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { recordSpanError } from '../../src/index.js';
import { installInMemoryTracing } from './tracing-fixture.js';

const tracing = installInMemoryTracing();
afterAll(() => tracing.uninstall());

/** Runs recordSpanError on a fresh span and returns that span as exported. */
function failSpan(error: unknown) {
  tracing.exporter.reset();
  const span = trace.getTracer('test').startSpan('failing step');
  recordSpanError(span, error);
  span.end();
  const [finished] = tracing.exporter.getFinishedSpans();
  return finished!;
}

describe('recordSpanError', () => {
  it('sets status ERROR with the error message and records the exception event', () => {
    const error = new TypeError('catalog unavailable');
    const span = failSpan(error);

    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'catalog unavailable' });
    expect(span.events).toHaveLength(1);
    expect(span.events[0]!.name).toBe('exception');
    expect(span.events[0]!.attributes).toMatchObject({
      'exception.type': 'TypeError',
      'exception.message': 'catalog unavailable',
      'exception.stacktrace': error.stack,
    });
  });

  it('records a thrown string as the exception message and leaves the status message unset', () => {
    const span = failSpan('plain string failure');

    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.status.message).toBeUndefined();
    expect(span.events).toHaveLength(1);
    expect(span.events[0]!.attributes).toMatchObject({ 'exception.message': 'plain string failure' });
  });
});
