import type { RenderedChart } from './chart-config.js';
import { startCollectorProcess } from './collector-process.js';

/** Ports the chart's pod listens on (its defaults). */
export const COLLECTOR_PORTS = { otlpGrpc: 4317, otlpHttp: 4318, health: 13133, metrics: 8888 } as const;

export interface CollectorOptions {
  /**
   * Where the Collector's exporters go: each in-cluster endpoint the chart rendered (a Service host:port or URL) →
   * the local address standing in for it. Throw for an endpoint with no local stand-in.
   */
  resolve: (endpoint: string) => string;
  /** Default: bin/otelcol, built by `hack/tools/build.sh otelcol`. */
  binary?: string;
  /** Values for charts/otel-collector, e.g. { traces: { backends: [...] } }. */
  chartValues?: Record<string, unknown>;
  /** The chart's ConfigMap and Deployment as already rendered elsewhere (what the operator applied). */
  rendered?: RenderedChart;
  /** Chart ports whose local port the caller chose already, e.g. 4318 → the port senders were told. */
  chosenPorts?: ReadonlyMap<number, number>;
  chartsDir?: string;
  helmBinary?: string;
}

export interface CollectorServer {
  /** Base URL of the OTLP/HTTP receiver: POST `${otlpHttpUrl}/v1/traces`. */
  readonly otlpHttpUrl: string;
  /** host:port of the OTLP/gRPC receiver. */
  readonly otlpGrpcAddress: string;
  /** Each port of the chart's pod → its local stand-in on 127.0.0.1. */
  readonly ports: ReadonlyMap<number, number>;
  /** The Collector's own metrics (Prometheus text), e.g. otelcol_receiver_accepted_spans. */
  readonly metricsUrl: string;
  /** The process id, e.g. to read its CPU time from /proc. */
  readonly pid: number | undefined;
  readonly configFile: string;
  readonly logFile: string;
  stop(): Promise<void>;
}

/**
 * The demo's OpenTelemetry Collector (bin/otelcol: our component list on Collector v0.139.0) on 127.0.0.1, with the
 * configuration and flags that charts/otel-collector gives the pod, rendered with the real helm and moved to this
 * machine by localCollectorConfig.
 */
export async function startCollector(options: CollectorOptions): Promise<CollectorServer> {
  const proc = await startCollectorProcess({
    chart: 'otel-collector',
    binary: 'otelcol',
    buildHint: 'hack/tools/build.sh otelcol',
    health: { port: COLLECTOR_PORTS.health, path: '/' },
    resolve: options.resolve,
    binaryPath: options.binary,
    chartValues: options.chartValues,
    rendered: options.rendered,
    chosenPorts: options.chosenPorts,
    chartsDir: options.chartsDir,
    helmBinary: options.helmBinary,
  });
  return {
    otlpHttpUrl: `http://127.0.0.1:${proc.port(COLLECTOR_PORTS.otlpHttp)}`,
    otlpGrpcAddress: `127.0.0.1:${proc.port(COLLECTOR_PORTS.otlpGrpc)}`,
    ports: proc.ports,
    metricsUrl: `http://127.0.0.1:${proc.port(COLLECTOR_PORTS.metrics)}/metrics`,
    pid: proc.pid,
    configFile: proc.configFile,
    logFile: proc.logFile,
    stop: () => proc.stop(),
  };
}
