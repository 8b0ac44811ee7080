import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dump, load } from 'js-yaml';
import { defaultBinDir } from '../controlplane/control-plane.js';
import { ManagedProcess, waitUntilReady } from '../process/managed-process.js';
import { freePorts } from '../process/ports.js';
import { makeTempDir, removeTempDir } from '../dataplane/temp-dirs.js';
import {
  configMapEntry,
  containerArgs,
  renderChart,
  replaceFlagValues,
  type RenderedChart,
} from './chart-config.js';

/** Where the chart mounts Tempo's data volume; every storage path of its config lies below it. */
const CHART_DATA_DIR = '/var/tempo';

export interface TempoOptions {
  /** Prometheus's remote-write endpoint, e.g. PrometheusServer.remoteWriteUrl. */
  prometheusRemoteWriteUrl: string;
  /** Default: bin/tempo, built by `hack/tools/build.sh tempo`. */
  binary?: string;
  /** Further values for charts/tempo, e.g. { logLevel: "debug" }. */
  chartValues?: Record<string, unknown>;
  /**
   * The chart's ConfigMap and StatefulSet as already rendered elsewhere (the embedded demo reads what the operator
   * applied), instead of rendering the chart here; chartValues are then unused.
   */
  rendered?: RenderedChart;
  /** The OTLP/HTTP port, when the caller chose it already (to tell senders that start first); a free one by default. */
  otlpHttpPort?: number;
  chartsDir?: string;
  helmBinary?: string;
}

/** A span of a trace fetched from Tempo, with ids in lowercase hex as OTLP/JSON writes them. */
export interface TempoSpan {
  serviceName: string;
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  attributes: Record<string, unknown>;
}

export interface TempoServer {
  /** Base URL of the OTLP/HTTP receiver: POST `${otlpHttpUrl}/v1/traces`. */
  readonly otlpHttpUrl: string;
  /** host:port of the OTLP/gRPC receiver. */
  readonly otlpGrpcAddress: string;
  /** Tempo's HTTP API (queries, /ready, /metrics). */
  readonly apiUrl: string;
  readonly configFile: string;
  readonly logFile: string;
  /** The spans of a trace (GET /api/traces/<id>), or undefined while Tempo does not know the trace. */
  trace(traceId: string): Promise<TempoSpan[] | undefined>;
  /** Stops Tempo and deletes its data. */
  stop(): Promise<void>;
}

export interface TempoLocalAddresses {
  dataDir: string;
  httpPort: number;
  /** Where the metrics-generator remote-writes, replacing the chart's in-cluster Prometheus URL. */
  remoteWriteUrl: string;
  grpcPort: number;
  otlpGrpcPort: number;
  otlpHttpPort: number;
}

type YamlMap = Record<string, unknown>;

function child(map: YamlMap, key: string): YamlMap {
  const value = map[key];
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as YamlMap;
  const created: YamlMap = {};
  map[key] = created;
  return created;
}

function valuesSection(values: YamlMap | undefined, key: string): YamlMap {
  const section = values?.[key];
  return typeof section === 'object' && section !== null ? (section as YamlMap) : {};
}

function relocate(value: unknown, dataDir: string): unknown {
  if (typeof value === 'string' && (value === CHART_DATA_DIR || value.startsWith(`${CHART_DATA_DIR}/`))) {
    return dataDir + value.slice(CHART_DATA_DIR.length);
  }
  if (Array.isArray(value)) return value.map((v) => relocate(v, dataDir));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, relocate(v, dataDir)]));
  }
  return value;
}

/**
 * The chart's tempo.yaml (rendered with the HTTP and OTLP ports as chart values), adapted to run as a local
 * process. Exactly these differences, nothing else:
 * - listen addresses: the OTLP receivers bind 127.0.0.1 instead of 0.0.0.0, and so do the HTTP and gRPC servers
 *   (which a pod binds on all of its interfaces);
 * - ports: the HTTP, gRPC and OTLP ports are free ones, so that parallel runs do not collide. A single binary starts
 *   no memberlist, so it needs none;
 * - the metrics-generator remote-writes to `remoteWriteUrl` (the chart's URL names an in-cluster Service);
 * - storage paths: everything below the chart's data volume (/var/tempo) moves below `dataDir`.
 */
export function tempoConfigFromChart(chartYaml: string, local: TempoLocalAddresses): string {
  const config = relocate(load(chartYaml), local.dataDir) as YamlMap;
  const server = child(config, 'server');
  server.http_listen_address = '127.0.0.1';
  server.http_listen_port = local.httpPort;
  server.grpc_listen_address = '127.0.0.1';
  server.grpc_listen_port = local.grpcPort;
  const protocols = child(child(child(child(config, 'distributor'), 'receivers'), 'otlp'), 'protocols');
  child(protocols, 'grpc').endpoint = `127.0.0.1:${local.otlpGrpcPort}`;
  child(protocols, 'http').endpoint = `127.0.0.1:${local.otlpHttpPort}`;
  const storage = (config.metrics_generator as YamlMap | undefined)?.storage as YamlMap | undefined;
  if (Array.isArray(storage?.remote_write)) {
    for (const target of storage.remote_write as YamlMap[]) target.url = local.remoteWriteUrl;
  }
  return dump(config, { lineWidth: -1 });
}

/**
 * Tempo (monolithic) on 127.0.0.1 with the configuration and flags that charts/tempo gives the pod, rendered with
 * the real helm: OTLP receivers, local storage and the metrics-generator remote-writing to `prometheusRemoteWriteUrl`.
 */
export async function startTempo(options: TempoOptions): Promise<TempoServer> {
  const binary = options.binary ?? join(defaultBinDir(), 'tempo');
  if (!existsSync(binary))
    throw new Error(`${binary} not found: run \`hack/tools/build.sh tempo\` to build Tempo`);
  const dir = makeTempDir('obsdemo-tempo-');
  const dataDir = join(dir, 'data');
  const configFile = join(dir, 'tempo.yaml');
  const logFile = join(dir, 'tempo.log');
  const [httpPort, grpcPort, otlpGrpcPort, freeOtlpHttpPort] = (await freePorts(4)) as [
    number,
    number,
    number,
    number,
  ];
  const otlpHttpPort = options.otlpHttpPort ?? freeOtlpHttpPort;

  const rendered =
    options.rendered ??
    (await renderChart({
      chart: 'tempo',
      values: {
        ...options.chartValues,
        service: { ...valuesSection(options.chartValues, 'service'), httpPort, otlpGrpcPort, otlpHttpPort },
        metricsGenerator: {
          ...valuesSection(options.chartValues, 'metricsGenerator'),
          remoteWriteUrl: options.prometheusRemoteWriteUrl,
        },
      },
      templates: ['templates/configmap.yaml', 'templates/statefulset.yaml'],
      chartsDir: options.chartsDir,
      helmBinary: options.helmBinary,
    }));
  const chartConfig = configMapEntry(rendered, 'tempo.yaml');
  if (chartConfig === undefined) throw new Error('tempo: the chart rendered no tempo.yaml');
  writeFileSync(
    configFile,
    tempoConfigFromChart(chartConfig, {
      dataDir,
      httpPort,
      grpcPort,
      otlpGrpcPort,
      otlpHttpPort,
      remoteWriteUrl: options.prometheusRemoteWriteUrl,
    }),
  );
  const args = replaceFlagValues('tempo', containerArgs(rendered, 'tempo'), { '-config.file': configFile });

  const apiUrl = `http://127.0.0.1:${httpPort}`;
  const proc = ManagedProcess.start({ name: 'tempo', command: binary, args, logFile, cwd: dir });
  try {
    // /ready turns 200 once every module, the ingester's ring membership included, has started.
    await waitUntilReady(proc, 'ready', async () => (await fetch(`${apiUrl}/ready`)).ok, 120_000, 500);
  } catch (error) {
    await proc.stop();
    removeTempDir(dir);
    throw error;
  }

  return {
    otlpHttpUrl: `http://127.0.0.1:${otlpHttpPort}`,
    otlpGrpcAddress: `127.0.0.1:${otlpGrpcPort}`,
    apiUrl,
    configFile,
    logFile,
    trace: (traceId) => fetchTrace(apiUrl, traceId),
    async stop() {
      await proc.stop(10_000);
      removeTempDir(dir);
    },
  };
}

interface OtlpAttribute {
  key: string;
  value: Record<string, unknown>;
}

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number | string;
  attributes?: OtlpAttribute[];
}

interface TraceResponse {
  batches?: {
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: { spans?: OtlpSpan[] }[];
  }[];
}

const SPAN_KINDS: Record<string, number> = {
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};

/** Tempo's JSON writes ids as protobuf `bytes`, i.e. base64; OTLP/JSON (what senders use) writes them in hex. */
function hexId(id: string | undefined): string {
  if (id === undefined || id === '') return '';
  if (/^[0-9a-f]+$/i.test(id) && (id.length === 16 || id.length === 32)) return id.toLowerCase();
  return Buffer.from(id, 'base64').toString('hex');
}

function attributeValue(value: Record<string, unknown>): unknown {
  const [first] = Object.values(value);
  return first;
}

function attributes(list: OtlpAttribute[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((a) => [a.key, attributeValue(a.value)]));
}

async function fetchTrace(apiUrl: string, traceId: string): Promise<TempoSpan[] | undefined> {
  const res = await fetch(`${apiUrl}/api/traces/${encodeURIComponent(traceId)}`, {
    headers: { accept: 'application/json' },
  });
  if (res.status === 404) return undefined;
  if (!res.ok)
    throw new Error(`tempo: GET /api/traces/${traceId} answered ${res.status}: ${await res.text()}`);
  const body = (await res.json()) as TraceResponse;
  const spans: TempoSpan[] = [];
  for (const batch of body.batches ?? []) {
    const resource = attributes(batch.resource?.attributes);
    const serviceName = typeof resource['service.name'] === 'string' ? resource['service.name'] : '';
    for (const scope of batch.scopeSpans ?? []) {
      for (const span of scope.spans ?? []) {
        spans.push({
          serviceName,
          traceId: hexId(span.traceId),
          spanId: hexId(span.spanId),
          parentSpanId: hexId(span.parentSpanId),
          name: span.name,
          kind: typeof span.kind === 'string' ? (SPAN_KINDS[span.kind] ?? 0) : (span.kind ?? 0),
          attributes: attributes(span.attributes),
        });
      }
    }
  }
  return spans;
}
