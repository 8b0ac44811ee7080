import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultBinDir } from '../controlplane/control-plane.js';
import { ManagedProcess, waitUntilReady } from '../process/managed-process.js';
import { makeTempDir, removeTempDir } from '../dataplane/temp-dirs.js';
import {
  configMapEntry,
  containerArgs,
  renderChart,
  replaceFlagValues,
  type RenderedChart,
} from './chart-config.js';
import { localCollectorConfig } from './collector-config.js';

/** The chart's container, its config key and where it mounts it. */
const CONTAINER = 'otel-collector';
const CONFIG_KEY = 'config.yaml';
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
  const binary = options.binary ?? join(defaultBinDir(), 'otelcol');
  if (!existsSync(binary))
    throw new Error(`${binary} not found: run \`hack/tools/build.sh otelcol\` to build the Collector`);
  const rendered =
    options.rendered ??
    (await renderChart({
      chart: 'otel-collector',
      values: options.chartValues ?? {},
      templates: ['templates/configmap.yaml', 'templates/deployment.yaml'],
      chartsDir: options.chartsDir,
      helmBinary: options.helmBinary,
    }));
  const chartConfig = configMapEntry(rendered, CONFIG_KEY);
  if (chartConfig === undefined) throw new Error(`otel-collector: the chart rendered no ${CONFIG_KEY}`);
  const local = await localCollectorConfig(chartConfig, options.resolve, options.chosenPorts);
  const port = (chartPort: number): number => {
    const p = local.ports.get(chartPort);
    if (p === undefined)
      throw new Error(`otel-collector: the chart's config listens on no port ${chartPort}`);
    return p;
  };

  const dir = makeTempDir('obsdemo-otelcol-');
  const configFile = join(dir, CONFIG_KEY);
  const logFile = join(dir, 'otelcol.log');
  writeFileSync(configFile, local.yaml);
  const args = replaceFlagValues('otel-collector', containerArgs(rendered, CONTAINER), {
    '--config': configFile,
  });
  const proc = ManagedProcess.start({ name: 'otelcol', command: binary, args, logFile, cwd: dir });
  const healthUrl = `http://127.0.0.1:${port(COLLECTOR_PORTS.health)}/`;
  try {
    await waitUntilReady(proc, 'healthy', async () => (await fetch(healthUrl)).ok, 60_000, 250);
  } catch (error) {
    await proc.stop();
    removeTempDir(dir);
    throw error;
  }
  return {
    otlpHttpUrl: `http://127.0.0.1:${port(COLLECTOR_PORTS.otlpHttp)}`,
    otlpGrpcAddress: `127.0.0.1:${port(COLLECTOR_PORTS.otlpGrpc)}`,
    ports: local.ports,
    metricsUrl: `http://127.0.0.1:${port(COLLECTOR_PORTS.metrics)}/metrics`,
    pid: proc.pid,
    configFile,
    logFile,
    async stop() {
      await proc.stop(10_000);
      removeTempDir(dir);
    },
  };
}
