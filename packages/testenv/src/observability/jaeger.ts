import type { RenderedChart } from './chart-config.js';
import { startCollectorProcess } from './collector-process.js';
import { spansOf, type OtlpTracesJson, type TraceSpan } from './trace-json.js';

/** Ports the chart's pod listens on (its defaults). */
export const JAEGER_PORTS = { otlpGrpc: 4317, otlpHttp: 4318, query: 16686, health: 13133 } as const;

export interface JaegerOptions {
  /** Default: bin/jaeger, built by `hack/tools/build.sh otelcol` (Jaeger v2 shares the Collector's module). */
  binary?: string;
  /** Values for charts/jaeger. */
  chartValues?: Record<string, unknown>;
  /** The chart's ConfigMap and Deployment as already rendered elsewhere (what the operator applied). */
  rendered?: RenderedChart;
  chartsDir?: string;
  helmBinary?: string;
}

export interface JaegerServer {
  /** Base URL of the OTLP/HTTP receiver. */
  readonly otlpHttpUrl: string;
  /** host:port of the OTLP/gRPC receiver, where the Collector exports traces. */
  readonly otlpGrpcAddress: string;
  /** Jaeger's query API (and UI, where the build has its assets): /api/v3/traces/{id}, /api/services. */
  readonly queryUrl: string;
  /** Each port of the chart's pod → its local stand-in on 127.0.0.1. */
  readonly ports: ReadonlyMap<number, number>;
  /** The process id, e.g. to read its CPU time from /proc. */
  readonly pid: number | undefined;
  readonly configFile: string;
  readonly logFile: string;
  /** The spans of a trace (GET /api/v3/traces/{id}), or undefined while Jaeger does not know it. */
  trace(traceId: string): Promise<TraceSpan[] | undefined>;
  stop(): Promise<void>;
}

/**
 * Jaeger v2 (bin/jaeger) on 127.0.0.1 with the configuration and flags that charts/jaeger gives the pod, rendered
 * with the real helm: OTLP receivers, the chart's storage and the query API.
 */
export async function startJaeger(options: JaegerOptions = {}): Promise<JaegerServer> {
  const proc = await startCollectorProcess({
    chart: 'jaeger',
    binary: 'jaeger',
    buildHint: 'hack/tools/build.sh otelcol',
    health: { port: JAEGER_PORTS.health, path: '/status' },
    resolve: (endpoint) => {
      throw new Error(`jaeger: the chart's config exports to ${endpoint}, which has no local stand-in`);
    },
    binaryPath: options.binary,
    chartValues: options.chartValues,
    rendered: options.rendered,
    chartsDir: options.chartsDir,
    helmBinary: options.helmBinary,
  });
  const queryUrl = `http://127.0.0.1:${proc.port(JAEGER_PORTS.query)}`;
  return {
    otlpHttpUrl: `http://127.0.0.1:${proc.port(JAEGER_PORTS.otlpHttp)}`,
    otlpGrpcAddress: `127.0.0.1:${proc.port(JAEGER_PORTS.otlpGrpc)}`,
    queryUrl,
    ports: proc.ports,
    pid: proc.pid,
    configFile: proc.configFile,
    logFile: proc.logFile,
    trace: (traceId) => fetchTrace(queryUrl, traceId),
    stop: () => proc.stop(),
  };
}

async function fetchTrace(queryUrl: string, traceId: string): Promise<TraceSpan[] | undefined> {
  const res = await fetch(`${queryUrl}/api/v3/traces/${encodeURIComponent(traceId)}`, {
    headers: { accept: 'application/json' },
  });
  if (res.status === 404) return undefined;
  if (!res.ok)
    throw new Error(`jaeger: GET /api/v3/traces/${traceId} answered ${res.status}: ${await res.text()}`);
  const body = (await res.json()) as { result?: OtlpTracesJson };
  return spansOf(body.result ?? {});
}
