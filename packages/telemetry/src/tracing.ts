import { W3CBaggagePropagator, W3CTraceContextPropagator, CompositePropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as OtlpHttpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpHttpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { OTLPLogExporter as OtlpHttpJsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as OtlpHttpProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { BatchLogRecordProcessor, type LogRecordExporter } from '@opentelemetry/sdk-logs';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  BatchSpanProcessor,
  NoopSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';
import { z } from 'zod';
import { env, parseConfig } from '@obsdemo/base';

export const OTEL_ENV = z.object({
  OTEL_SERVICE_NAME: env.string('unknown_service'),
  OTEL_SERVICE_VERSION: env.string('0.0.0'),
  OTEL_SDK_DISABLED: env.bool(false),
  OTEL_EXPORTER_OTLP_ENDPOINT: env.url().optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: env.url().optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: z
    .enum(['http/protobuf', 'http/json'], 'http/protobuf or http/json')
    .default('http/protobuf'),
  /** Root sampling ratio; children always follow their parent's decision. */
  OTEL_TRACES_SAMPLER_ARG: env.ratio(1),
  /** otlp: every log line is also sent as an OTLP log record (to <endpoint>/v1/logs); none: stdout only. */
  OTEL_LOGS_EXPORTER: z.enum(['otlp', 'none'], 'otlp or none').default('none'),
  OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: env.url().optional(),
});
export type OtelEnv = z.infer<typeof OTEL_ENV>;

export interface TelemetryOptions {
  serviceName: string;
  serviceVersion: string;
  sampleRatio: number;
  /** Overrides the OTLP exporter (tests pass an in-memory one). */
  spanProcessors?: SpanProcessor[];
  exporter?: SpanExporter;
  protocol?: OtelEnv['OTEL_EXPORTER_OTLP_PROTOCOL'];
  /** Without an endpoint spans are still created (trace ids in logs, exemplars) but not exported. */
  exportEnabled?: boolean;
  /** Send log records over OTLP (the logger adds a transport for them when this is on). */
  logsExportEnabled?: boolean;
  /** Overrides the OTLP log exporter (tests pass an in-memory one); implies logsExportEnabled. */
  logExporter?: LogRecordExporter;
  instrumentations?: Instrumentation[];
}

export interface Telemetry {
  /** Whether log records are exported (createLogger then emits each line as one). */
  readonly logsExported: boolean;
  shutdown(): Promise<void>;
}

export function createSampler(ratio: number): Sampler {
  return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
}

/**
 * Tempo's service graph names a database edge's server after `peer.service` when a span has it, else after the
 * database name (catalog, invoices, ...), which would draw each service an edge to a node of its own name. Every
 * service's database is the demo's Postgres, so its spans name that peer.
 */
export const DATABASE_PEER_SERVICE = 'postgres';

/**
 * The pg instrumentation writes only the stable database conventions (db.system.name, db.namespace), while Tempo's
 * service-graph processor still recognises a database call by the older `db.system`: without it the edge would
 * only appear, as a virtual node, after the unmatched client span expires.
 */
function markDatabasePeer(span: { setAttribute(key: string, value: string): unknown }): void {
  span.setAttribute('peer.service', DATABASE_PEER_SERVICE);
  span.setAttribute('db.system', 'postgresql');
}

export function defaultInstrumentations(): Instrumentation[] {
  return [
    // Outgoing requests only (CLIENT spans, trace context injected). Each service's SERVER span, named after its
    // route, comes from the first middleware of its Express app (requestSpan in @obsdemo/service-kit). The incoming
    // side of this instrumentation, and the Express instrumentation (a span per handler, and a wrapper around every
    // middleware layer even when its spans are off), cost more CPU per request than everything else tracing does,
    // sampled or not: docs/benchmarks.md.
    new HttpInstrumentation({ disableIncomingRequestInstrumentation: true }),
    // A span per query; none per pool checkout (`pg-pool.connect`), which doubled the spans of every database call
    // for a wait the pool gauge (database_connection_pool) already shows.
    new PgInstrumentation({
      requireParentSpan: true,
      ignoreConnectSpans: true,
      requestHook: markDatabasePeer,
    }),
    new UndiciInstrumentation(),
  ];
}

function exporterFor(options: TelemetryOptions): SpanExporter | undefined {
  if (options.exporter) return options.exporter;
  if (!options.exportEnabled) return undefined;
  // Both exporters read OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT themselves and append /v1/traces.
  return options.protocol === 'http/json' ? new OtlpHttpJsonExporter() : new OtlpHttpProtoExporter();
}

function logExporterFor(options: TelemetryOptions): LogRecordExporter | undefined {
  if (options.logExporter) return options.logExporter;
  if (!options.logsExportEnabled) return undefined;
  // Both read OTEL_EXPORTER_OTLP_(LOGS_)ENDPOINT themselves and append /v1/logs.
  return options.protocol === 'http/json' ? new OtlpHttpJsonLogExporter() : new OtlpHttpProtoLogExporter();
}

let current: Telemetry | undefined;

export function startTelemetry(options: TelemetryOptions): Telemetry {
  if (current) return current;
  const exporter = exporterFor(options);
  // A tracer provider is only installed when there is at least one processor; without an exporter the no-op one
  // still gives every request a trace id for logs and exemplars.
  const spanProcessors = options.spanProcessors ?? [
    exporter ? new BatchSpanProcessor({ exporter }) : new NoopSpanProcessor(),
  ];
  const logExporter = logExporterFor(options);
  const sdk = new NodeSDK({
    serviceName: options.serviceName,
    resource: resourceFromAttributes({ 'service.version': options.serviceVersion }),
    sampler: createSampler(options.sampleRatio),
    spanProcessors,
    textMapPropagator: new CompositePropagator({
      propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
    }),
    instrumentations: options.instrumentations ?? defaultInstrumentations(),
    // Metrics are scraped from prom-client and logs go to stdout (winston), and over OTLP only when asked; without
    // these lists the SDK would add OTLP metric and log exporters from its defaults.
    metricReaders: [],
    logRecordProcessors: logExporter ? [new BatchLogRecordProcessor({ exporter: logExporter })] : [],
  });
  sdk.start();
  current = { logsExported: logExporter !== undefined, shutdown: () => sdk.shutdown() };
  return current;
}

/** Reads the standard OTEL_* variables; a bad value throws a ConfigError with one readable line. */
export function telemetryOptionsFromEnv(
  source: Record<string, string | undefined> = process.env,
): TelemetryOptions {
  const cfg = parseConfig(OTEL_ENV, source);
  return {
    serviceName: cfg.OTEL_SERVICE_NAME,
    serviceVersion: cfg.OTEL_SERVICE_VERSION,
    sampleRatio: cfg.OTEL_TRACES_SAMPLER_ARG,
    protocol: cfg.OTEL_EXPORTER_OTLP_PROTOCOL,
    exportEnabled:
      !cfg.OTEL_SDK_DISABLED &&
      (cfg.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined || cfg.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== undefined),
    logsExportEnabled:
      !cfg.OTEL_SDK_DISABLED &&
      cfg.OTEL_LOGS_EXPORTER === 'otlp' &&
      (cfg.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined || cfg.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT !== undefined),
  };
}

/** The handle started by the `--import @obsdemo/telemetry/register` preload, if any. */
export function currentTelemetry(): Telemetry | undefined {
  return current;
}
