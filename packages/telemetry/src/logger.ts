import { context, trace } from '@opentelemetry/api';
import winston from 'winston';
import type { Writable } from 'node:stream';
import { LOG_CONTEXT, OtelLogTransport } from './otel-log-transport.js';
import { redact } from './redact.js';
import { currentTelemetry } from './tracing.js';

export type Logger = winston.Logger;

export interface LoggerOptions {
  service: string;
  level?: string;
  /** Defaults to stdout; tests pass a stream to read the lines back. */
  stream?: Writable;
  /**
   * Also emit every line as an OpenTelemetry log record (exported over OTLP by the SDK's log processor). Defaults to
   * whether the running telemetry exports logs (OTEL_LOGS_EXPORTER=otlp).
   */
  otlp?: boolean;
}

const WINSTON_KEYS = new Set(['level', 'message', 'timestamp', 'service', 'trace_id', 'span_id']);

const traceContext = winston.format((info) => {
  const span = trace.getActiveSpan();
  const ctx = span?.spanContext();
  if (ctx && trace.isSpanContextValid(ctx)) {
    info['trace_id'] = ctx.traceId;
    info['span_id'] = ctx.spanId;
    (info as Record<symbol, unknown>)[LOG_CONTEXT] = context.active();
  }
  return info;
});

const redactFields = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (WINSTON_KEYS.has(key)) continue;
    info[key] = (redact({ [key]: info[key] }) as Record<string, unknown>)[key];
  }
  if (typeof info.message === 'string') info.message = redact(info.message) as string;
  return info;
});

/**
 * JSON lines with timestamp, level, service, message, trace_id, span_id and the event's own fields; with `otlp`, the
 * same lines (redacted alike) as OpenTelemetry log records too.
 */
export function createLogger(options: LoggerOptions): Logger {
  const transport = options.stream
    ? new winston.transports.Stream({ stream: options.stream })
    : new winston.transports.Console();
  const transports: winston.transport[] = [transport];
  if (options.otlp ?? currentTelemetry()?.logsExported ?? false)
    transports.push(new OtelLogTransport(`@obsdemo/${options.service}`));
  return winston.createLogger({
    level: options.level ?? 'info',
    defaultMeta: { service: options.service },
    format: winston.format.combine(
      winston.format.timestamp(),
      winston.format.errors({ stack: true }),
      traceContext(),
      redactFields(),
      winston.format.json(),
    ),
    transports,
  });
}
