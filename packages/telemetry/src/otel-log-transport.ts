import {
  SeverityNumber,
  logs,
  type AnyValue,
  type Context,
  type Logger as OtelLogger,
} from '@opentelemetry/api';
import TransportStream from 'winston-transport';

/**
 * Where the logger's format leaves the context the line was written in (a symbol, so the JSON line on stdout does
 * not show it). Winston hands lines to its transports through a stream, so by the time a transport runs the
 * request's context may no longer be active; the record is emitted with the one captured at the call.
 */
export const LOG_CONTEXT: unique symbol = Symbol.for('obsdemo.log.context');

/** Fields every line has, which become the record's own fields rather than attributes. */
const RECORD_FIELDS = new Set(['level', 'message', 'timestamp', 'service', 'trace_id', 'span_id', 'stack']);

const SEVERITY: Record<string, SeverityNumber> = {
  error: SeverityNumber.ERROR,
  warn: SeverityNumber.WARN,
  info: SeverityNumber.INFO,
  http: SeverityNumber.INFO2,
  verbose: SeverityNumber.DEBUG2,
  debug: SeverityNumber.DEBUG,
  silly: SeverityNumber.TRACE,
};

/**
 * Emits each line as an OpenTelemetry log record through the global LoggerProvider: the body is the message, the
 * event's own fields are attributes, and the trace and span ids come from the context the line was written in. With
 * no provider installed (OTEL_LOGS_EXPORTER=none, the default) the API's no-op logger drops the record.
 */
export class OtelLogTransport extends TransportStream {
  private readonly logger: OtelLogger;

  constructor(scope: string) {
    super();
    this.logger = logs.getLogger(scope);
  }

  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    const level = String(info['level']);
    const attributes: Record<string, AnyValue> = {};
    for (const [key, value] of Object.entries(info)) {
      if (RECORD_FIELDS.has(key) || value === undefined) continue;
      attributes[key] = toAnyValue(value);
    }
    if (typeof info['stack'] === 'string') attributes['exception.stacktrace'] = info['stack'];
    this.logger.emit({
      severityNumber: SEVERITY[level] ?? SeverityNumber.UNSPECIFIED,
      severityText: level,
      body: String(info['message'] ?? ''),
      attributes,
      ...(typeof info['timestamp'] === 'string' ? { timestamp: new Date(info['timestamp']) } : {}),
      ...(info[LOG_CONTEXT] ? { context: info[LOG_CONTEXT] as Context } : {}),
    });
    next();
  }
}

/** A log field as an OTLP AnyValue: scalars as they are, arrays and plain objects element by element. */
function toAnyValue(value: unknown, depth = 0): AnyValue {
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
    return value;
  if (value instanceof Date) return value.toISOString();
  if (depth < 4 && Array.isArray(value)) return value.map((v) => toAnyValue(v, depth + 1));
  if (depth < 4 && typeof value === 'object') {
    const out: Record<string, AnyValue> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toAnyValue(v, depth + 1);
    return out;
  }
  return String(value);
}
