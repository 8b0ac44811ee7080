import { SpanStatusCode, type Span } from '@opentelemetry/api';

/**
 * Marks a span as failed: records the exception as a span event and sets the
 * status to ERROR with the error's message. The caller still ends the span and
 * rethrows. A non-Error value is passed to recordException as it is (a string
 * becomes the exception message) and leaves the status message undefined.
 */
export function recordSpanError(span: Span, error: unknown): void {
  span.recordException(error as Error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
}
