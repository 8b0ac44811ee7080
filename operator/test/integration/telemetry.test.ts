// TelemetryVerified through the real reconciler (as the operator's ServiceAccount, on the integration control
// plane) against a real Prometheus, pointed at it with TELEMETRY_PROMETHEUS_URL as an operator outside the cluster
// is. Prometheus scrapes a small HTTP server that serves the service-graph series each demo's Collector would
// remote-write, labelled with what the operator rendered into that Collector's configuration; a series dropped
// from it goes stale in Prometheus at the next scrape. One Prometheus holds the series of every demo here.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import { dump, load } from 'js-yaml';
import { parseConfig } from '@obsdemo/base';
import {
  createTestNamespace,
  deleteTestNamespace,
  eventually,
  kubeConfigFromEnv,
  startPrometheus,
  type PrometheusServer,
} from '@obsdemo/testenv';
import { API_VERSION, KIND, type Condition, type DefaultedObservabilityDemo } from '../../src/api/index.js';
import { OperatorConfigSchema } from '../../src/config.js';
import { DemoReconciler } from '../../src/reconcile/reconciler.js';
import { servicesValues } from '../../src/reconcile/services-values.js';
import { TelemetryVerifier } from '../../src/reconcile/telemetry.js';
import { setUpOperatorEnv, type OperatorEnv } from './operator-env.js';

const ALL_SERIES = [
  'client="gateway",server="catalog",connection_type=""',
  'client="gateway",server="processor",connection_type=""',
  'client="processor",server="catalog",connection_type=""',
  'client="catalog",server="invoices",connection_type="messaging_system"',
  'client="catalog",server="postgres",connection_type="database"',
];

let kc: KubeConfig;
let env: OperatorEnv;
let ns: string;
/** A second namespace with a demo of the same name, whose series land in the same Prometheus. */
let otherNs: string | undefined;
let exporter: Server;
let prometheus: PrometheusServer | undefined;

/** Per demo (`namespace/name`): the labels its Collector adds, and the edges it has traffic on. */
const demos = new Map<string, { labels: string; served: string[] }>();

let scrapes = 0;
/** Counters that grow with every scrape, as the Collector's do while traffic flows (the operator looks at their increase). */
function exposition(): string {
  scrapes++;
  return [
    '# HELP traces_service_graph_request_total Requests between two nodes.',
    '# TYPE traces_service_graph_request_total counter',
    ...[...demos.values()].flatMap(({ labels, served }) =>
      served.map((edge) => `traces_service_graph_request_total{${edge},${labels}} ${3 * scrapes}`),
    ),
    '',
  ].join('\n');
}

/**
 * The labels the demo's Collector adds to every series it remote-writes, as the operator rendered them into the
 * Collector's ConfigMap, in exposition syntax.
 */
async function collectorSeriesLabels(namespace: string, name: string): Promise<string> {
  const configMap = await env.admin.get<{ data?: Record<string, string> }>({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    namespace,
    name: `${name}-otel-collector-config`,
  });
  const config = load(configMap?.data?.['config.yaml'] ?? '') as {
    exporters?: { prometheusremotewrite?: { external_labels?: Record<string, string> } };
  };
  const labels = config.exporters?.prometheusremotewrite?.external_labels ?? {};
  return Object.entries(labels)
    .map(([label, value]) => `${label}=${JSON.stringify(value)}`)
    .join(',');
}

/** Applies the demo, reconciles it once so its Collector's configuration exists, and serves `served` as its traffic. */
async function startDemo(namespace: string, name: string, served: string[]): Promise<void> {
  await apply(name, {}, namespace);
  await reconcilerFor(prometheus!.url).reconcile(namespace, name);
  demos.set(`${namespace}/${name}`, { labels: await collectorSeriesLabels(namespace, name), served });
}

/** A reconciler whose verifier asks the Prometheus at `url`, configured as the operator's environment does. */
function reconcilerFor(url: string): DemoReconciler {
  const config = parseConfig(OperatorConfigSchema, { TELEMETRY_PROMETHEUS_URL: url });
  // A short interval: the test re-checks within seconds rather than the production 30 s.
  const verifier = new TelemetryVerifier({
    prometheusUrl: config.TELEMETRY_PROMETHEUS_URL,
    minIntervalMs: 200,
    timeoutMs: 2_000,
  });
  return new DemoReconciler({
    client: env.asOperator,
    renderer: env.renderer,
    servicesValues,
    verifyTelemetry: (demo, context) => verifier.check(demo, context),
  });
}

async function telemetryCondition(namespace: string, name: string): Promise<Condition | undefined> {
  const demo = await env.admin.get<DefaultedObservabilityDemo>({
    apiVersion: API_VERSION,
    kind: KIND,
    namespace,
    name,
  });
  return demo?.status?.conditions?.find((c) => c.type === 'TelemetryVerified');
}

/** Reconciles, as the controller's requeues would, until the condition matches. */
async function reconcileUntilTelemetry(
  reconciler: DemoReconciler,
  name: string,
  what: string,
  done: (c: Condition) => boolean,
  namespace = ns,
): Promise<Condition> {
  return eventually(
    what,
    async () => {
      await reconciler.reconcile(namespace, name);
      const condition = await telemetryCondition(namespace, name);
      return condition && done(condition) ? condition : undefined;
    },
    60_000,
  );
}

beforeAll(async () => {
  kc = kubeConfigFromEnv();
  env = await setUpOperatorEnv(kc);
  ns = await createTestNamespace(kc, 'telemetry');
  exporter = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(exposition());
  });
  await new Promise<void>((resolve) => exporter.listen(0, '127.0.0.1', resolve));
  const target = `127.0.0.1:${(exporter.address() as AddressInfo).port}`;
  prometheus = await startPrometheus({
    configYaml: dump({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      scrape_configs: [{ job_name: 'service-graph', static_configs: [{ targets: [target] }] }],
    }),
  });
}, 120_000);

afterAll(async () => {
  await prometheus?.stop();
  await new Promise((resolve) => exporter?.close(resolve));
  if (ns) await deleteTestNamespace(kc, ns);
  if (otherNs) await deleteTestNamespace(kc, otherNs);
});

const apply = (name: string, spec: Record<string, unknown> = {}, namespace = ns) => {
  const demo = { apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace }, spec };
  return env.admin.apply(demo, 'obsdemo-test');
};

describe('TelemetryVerified', () => {
  it('is False with EdgesMissing naming the edge without requests', async () => {
    // Until the second test, catalog→invoices has never had a request: Prometheus has no such series at all.
    await startDemo(
      ns,
      'shop',
      ALL_SERIES.filter((series) => !series.includes('server="invoices"')),
    );
    const condition = await reconcileUntilTelemetry(
      reconcilerFor(prometheus!.url),
      'shop',
      'TelemetryVerified=False for the one edge without requests',
      // Until Prometheus holds two scrapes, no edge has an increase yet and all are missing.
      (c) => c.status === 'False' && !(c.message ?? '').includes('gateway→catalog'),
    );
    expect(condition).toMatchObject({
      reason: 'EdgesMissing',
      message:
        'missing service-graph edges (no requests in the last 5m): catalog→invoices (messaging_system)',
    });
  });

  it('is True with EdgesObserved when Prometheus has every expected edge', async () => {
    demos.get(`${ns}/shop`)!.served = [...ALL_SERIES];
    const condition = await reconcileUntilTelemetry(
      reconcilerFor(prometheus!.url),
      'shop',
      'TelemetryVerified=True',
      (c) => c.status === 'True',
    );
    expect(condition.reason).toBe('EdgesObserved');
    expect(condition.message).toContain('catalog→invoices (messaging_system)');
  });

  it('counts only the demo’s own series when another demo’s land in the same Prometheus', async () => {
    // The same name in another namespace, with traffic on the gateway's edges only.
    otherNs = await createTestNamespace(kc, 'telemetry-other');
    await startDemo(
      otherNs,
      'shop',
      ALL_SERIES.filter((series) => series.includes('client="gateway"')),
    );
    const other = await reconcileUntilTelemetry(
      reconcilerFor(prometheus!.url),
      'shop',
      'TelemetryVerified=False in the other namespace, whose own series lack three edges',
      (c) => c.status === 'False' && !(c.message ?? '').includes('gateway→catalog'),
      otherNs,
    );
    expect(other).toMatchObject({
      reason: 'EdgesMissing',
      message:
        'missing service-graph edges (no requests in the last 5m): processor→catalog, catalog→invoices (messaging_system), catalog→postgres (database)',
    });
    // The first demo's edges are still all there, and only its own.
    const first = await reconcileUntilTelemetry(
      reconcilerFor(prometheus!.url),
      'shop',
      'TelemetryVerified=True for the first demo',
      (c) => c.status === 'True',
    );
    expect(first.reason).toBe('EdgesObserved');
  });

  it('expects only the edges of enabled services', async () => {
    await apply('shop', { services: { invoices: { enabled: false } } });
    const condition = await reconcileUntilTelemetry(
      reconcilerFor(prometheus!.url),
      'shop',
      'TelemetryVerified=True without invoices',
      (c) => c.status === 'True',
    );
    expect(condition.message).not.toContain('invoices');
  });

  it('is Unknown with PrometheusUnreachable when Prometheus does not answer', async () => {
    const url = prometheus!.url;
    await prometheus!.stop();
    prometheus = undefined;
    const condition = await reconcileUntilTelemetry(
      reconcilerFor(url),
      'shop',
      'TelemetryVerified=Unknown',
      (c) => c.status === 'Unknown',
    );
    expect(condition.reason).toBe('PrometheusUnreachable');
    expect(condition.message).toContain(`cannot query Prometheus at ${url}`);
    expect(condition.message).toContain('ECONNREFUSED');
  });

  it('is Unknown with PrometheusDisabled when the demo has no Prometheus', async () => {
    // The API requires everything that reads or writes Prometheus off with it.
    await apply('shop', {
      observability: {
        prometheus: { enabled: false },
        grafana: { enabled: false },
        collector: { serviceGraphs: false, spanMetrics: false },
      },
    });
    const condition = await reconcileUntilTelemetry(
      reconcilerFor('http://127.0.0.1:1'),
      'shop',
      'TelemetryVerified=Unknown/PrometheusDisabled',
      (c) => c.reason === 'PrometheusDisabled',
    );
    expect(condition.status).toBe('Unknown');
    expect(condition.message).toContain('without Prometheus');
  });
});
