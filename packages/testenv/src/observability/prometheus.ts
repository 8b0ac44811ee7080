import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dump, load } from 'js-yaml';
import { ManagedProcess, waitUntilReady } from '../process/managed-process.js';
import { freePort } from '../process/ports.js';
import { makeTempDir, removeTempDir } from '../dataplane/temp-dirs.js';
import {
  configMapEntry,
  containerArgs,
  renderChart,
  replaceFlagValues,
  type RenderedChart,
} from './chart-config.js';

/** A local process for Prometheus to scrape, standing in for a pod the chart would discover. */
export interface ScrapeTarget {
  /** The `job` label: what the chart takes from the pod's app.kubernetes.io/name label, e.g. "catalog". */
  job: string;
  /** host:port, e.g. "127.0.0.1:8081". */
  address: string;
  /** Metrics path; the chart reads it from the prometheus.io/path annotation. Default /metrics. */
  metricsPath?: string;
  /** Further target labels, e.g. { namespace: "demo", pod: "catalog-0" } as the chart's relabelling adds them. */
  labels?: Record<string, string>;
}

export interface PrometheusOptions {
  /** Default: Debian's /usr/bin/prometheus. */
  binary?: string;
  /** The listen port on 127.0.0.1, when the caller chose it already; a free one by default. */
  port?: number;
  /** Targets for the chart's pod-discovery job (see prometheusConfigFromChart). */
  scrapeTargets?: readonly ScrapeTarget[];
  /** Values for charts/prometheus, e.g. { scrapeInterval: "5s" }. */
  chartValues?: Record<string, unknown>;
  /**
   * The chart's ConfigMap and StatefulSet as already rendered elsewhere (the embedded demo reads what the operator
   * applied), instead of rendering the chart here; chartValues are then unused.
   */
  rendered?: RenderedChart;
  /** A complete prometheus.yml instead of the chart's: for tests of Prometheus itself, not of the demo. */
  configYaml?: string;
  chartsDir?: string;
  helmBinary?: string;
}

/** One element of an instant query's vector result. */
export interface VectorSample {
  metric: Record<string, string>;
  value: number;
  /** Unix seconds. */
  timestamp: number;
}

export interface PrometheusServer {
  readonly url: string;
  /** Where Tempo's metrics-generator (or anything else) remote-writes. */
  readonly remoteWriteUrl: string;
  readonly configFile: string;
  readonly logFile: string;
  /** Instant query through the HTTP API; rejects with Prometheus's error for a bad query. */
  query(promql: string): Promise<VectorSample[]>;
  /** Stops the server and deletes its storage. */
  stop(): Promise<void>;
}

interface ScrapeConfig {
  job_name: string;
  static_configs?: { targets: string[]; labels?: Record<string, string> }[];
  kubernetes_sd_configs?: unknown;
  relabel_configs?: unknown;
  [key: string]: unknown;
}

interface PrometheusConfig {
  rule_files?: string[];
  scrape_configs?: ScrapeConfig[];
  [key: string]: unknown;
}

/**
 * The chart's prometheus.yml, adapted to run outside Kubernetes. Exactly these differences, nothing else:
 * - rule_files: the chart's mount path (/etc/prometheus/<file>) becomes `ruleDir`/<file>, holding the chart's rules;
 * - the self-scrape job targets `selfAddress` instead of localhost:9090;
 * - every job that discovers pods (kubernetes_sd_configs) gets `targets` as static_configs instead, and loses its
 *   relabel_configs: they only map __meta_kubernetes_* labels, which static targets do not have. Each target carries
 *   the labels that relabelling would have produced (job from the pod's app name, plus namespace/pod/… as given).
 *   With no targets, such a job is dropped.
 * global (scrape and evaluation intervals) and the rules themselves are the chart's, unchanged.
 */
export function prometheusConfigFromChart(
  chartYaml: string,
  ruleDir: string,
  selfAddress: string,
  targets: readonly ScrapeTarget[],
): string {
  const config = load(chartYaml) as PrometheusConfig;
  if (config.rule_files !== undefined) {
    config.rule_files = config.rule_files.map((file) => join(ruleDir, file.slice(file.lastIndexOf('/') + 1)));
  }
  const staticConfigs = targets.map((t) => ({
    targets: [t.address],
    labels: {
      ...t.labels,
      job: t.job,
      ...(t.metricsPath !== undefined ? { __metrics_path__: t.metricsPath } : {}),
    },
  }));
  const scrapeConfigs: ScrapeConfig[] = [];
  for (const job of config.scrape_configs ?? []) {
    if (job.kubernetes_sd_configs !== undefined) {
      if (staticConfigs.length === 0) continue;
      const { kubernetes_sd_configs: _sd, relabel_configs: _relabel, ...rest } = job;
      scrapeConfigs.push({ ...rest, static_configs: staticConfigs });
    } else if (job.job_name === 'prometheus') {
      scrapeConfigs.push({ ...job, static_configs: [{ targets: [selfAddress] }] });
    } else {
      scrapeConfigs.push(job);
    }
  }
  config.scrape_configs = scrapeConfigs;
  return dump(config, { lineWidth: -1 });
}

/**
 * Prometheus on 127.0.0.1 with the configuration and flags that charts/prometheus gives the pod (rendered with the
 * real helm), its TSDB in a temp dir. Debian's 2.42 runs it locally; the chart's image is 3.x, and the flags and
 * config the chart uses mean the same in both.
 */
export async function startPrometheus(options: PrometheusOptions = {}): Promise<PrometheusServer> {
  const binary = options.binary ?? '/usr/bin/prometheus';
  const dir = makeTempDir('obsdemo-prometheus-');
  const storageDir = join(dir, 'data');
  const configFile = join(dir, 'prometheus.yml');
  const logFile = join(dir, 'prometheus.log');
  const port = options.port ?? (await freePort());
  const address = `127.0.0.1:${port}`;
  const url = `http://${address}`;

  const rendered =
    options.rendered ??
    (await renderChart({
      chart: 'prometheus',
      values: options.chartValues ?? {},
      templates: ['templates/configmap.yaml', 'templates/statefulset.yaml'],
      chartsDir: options.chartsDir,
      helmBinary: options.helmBinary,
    }));
  const chartConfig = configMapEntry(rendered, 'prometheus.yml');
  if (chartConfig === undefined) throw new Error('prometheus: the chart rendered no prometheus.yml');
  const alerts = configMapEntry(rendered, 'alerts.yml');
  if (alerts !== undefined) writeFileSync(join(dir, 'alerts.yml'), alerts);
  writeFileSync(
    configFile,
    options.configYaml ?? prometheusConfigFromChart(chartConfig, dir, address, options.scrapeTargets ?? []),
  );
  const args = [
    ...replaceFlagValues('prometheus', containerArgs(rendered, 'prometheus'), {
      '--config.file': configFile,
      '--storage.tsdb.path': storageDir,
    }),
    `--web.listen-address=${address}`,
  ];

  const proc = ManagedProcess.start({ name: 'prometheus', command: binary, args, logFile });
  try {
    await waitUntilReady(proc, 'ready', async () => (await fetch(`${url}/-/ready`)).ok);
  } catch (error) {
    await proc.stop();
    removeTempDir(dir);
    throw error;
  }

  return {
    url,
    remoteWriteUrl: `${url}/api/v1/write`,
    configFile,
    logFile,
    query: (promql) => instantQuery(url, promql),
    async stop() {
      await proc.stop(10_000);
      removeTempDir(dir);
    },
  };
}

interface QueryResponse {
  status: 'success' | 'error';
  error?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

async function instantQuery(url: string, promql: string): Promise<VectorSample[]> {
  const res = await fetch(`${url}/api/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ query: promql }),
  });
  const body = (await res.json()) as QueryResponse;
  if (body.status !== 'success' || body.data === undefined) {
    throw new Error(
      `prometheus query ${JSON.stringify(promql)} failed: ${body.error ?? `HTTP ${res.status}`}`,
    );
  }
  if (body.data.resultType !== 'vector') {
    throw new Error(
      `prometheus query ${JSON.stringify(promql)} returned a ${body.data.resultType}, not a vector`,
    );
  }
  return body.data.result.map((r) => ({
    metric: r.metric,
    timestamp: r.value[0],
    value: Number(r.value[1]),
  }));
}
