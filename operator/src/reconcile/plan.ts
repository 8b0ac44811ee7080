import type { DefaultedObservabilityDemo } from '../api/index.js';
import { networkPolicyValues, type OperatorLocation } from './network-policy.js';
import { quantityValue } from './quantity.js';

/** The parts of a demo, each rendered from one chart. */
export type PlannedComponent =
  'nats' | 'postgres' | 'prometheus' | 'collector' | 'tempo' | 'jaeger' | 'loki' | 'grafana' | 'services';

/** Ports of the trace pipeline's Services (the charts' defaults, which the plan keeps). */
export const OTLP_GRPC_PORT = 4317;
export const OTLP_HTTP_PORT = 4318;
export const TEMPO_HTTP_PORT = 3200;
export const JAEGER_QUERY_PORT = 16686;
/** Loki's HTTP port: OTLP logs in under /otlp, LogQL queries out. */
export const LOKI_HTTP_PORT = 3100;

/** One chart to render for a demo, with the values the CR implies. */
export interface ComponentPlan {
  component: PlannedComponent;
  chart: string;
  values: Record<string, unknown>;
}

/** The charts a demo is rendered from: the keys `componentDefaults` may use. */
export const COMPONENT_CHARTS = [
  'nats',
  'postgres',
  'prometheus',
  'otel-collector',
  'tempo',
  'jaeger',
  'loki',
  'grafana',
  'demo-services',
] as const;

/** Chart name → values every demo starts from (COMPONENT_DEFAULTS). */
export type ComponentDefaults = Readonly<Record<string, Record<string, unknown>>>;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses COMPONENT_DEFAULTS (JSON); throws one readable line for anything but `{chart: {values}}`. */
export function parseComponentDefaults(text: string): ComponentDefaults {
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error('is not JSON (an object of chart name → values)');
  }
  if (!isPlainObject(parsed)) throw new Error('must be an object of chart name → values');
  for (const [chart, values] of Object.entries(parsed)) {
    if (!(COMPONENT_CHARTS as readonly string[]).includes(chart))
      throw new Error(`names "${chart}", which is not one of ${COMPONENT_CHARTS.join(', ')}`);
    if (!isPlainObject(values)) throw new Error(`"${chart}" must map to an object of chart values`);
  }
  return parsed as ComponentDefaults;
}

/** `over` merged into `base`, recursively for objects; arrays and scalars of `over` replace those of `base`. */
export function mergeValues(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? mergeValues(current, value) : value;
  }
  return out;
}

/** Each plan's values applied over the defaults configured for its chart (what the CR implies wins). */
export function withComponentDefaults(plans: ComponentPlan[], defaults: ComponentDefaults): ComponentPlan[] {
  return plans.map((plan) => {
    const base = defaults[plan.chart];
    return base === undefined ? plan : { ...plan, values: mergeValues(base, plan.values) };
  });
}

/** Names of the Secrets the operator generates once per demo and never overwrites. */
export function generatedSecretNames(demoName: string) {
  return { postgres: `${demoName}-postgres-auth`, grafana: `${demoName}-grafana-admin` };
}

/** The prometheus chart's Service port (its default, which the plan keeps). */
export const PROMETHEUS_PORT = 9090;

/** The database users the postgres chart creates, one per service that keeps state. */
export const DATABASE_USERS = ['catalog', 'processor', 'invoices'] as const;

/** In-cluster names and URLs of one demo's components; every chart gets them explicitly, never by convention. */
export function componentNames(demo: DefaultedObservabilityDemo) {
  const name = demo.metadata?.name ?? '';
  const ns = demo.metadata?.namespace ?? 'default';
  const svc = (component: string) => `${name}-${component}`;
  const external = demo.spec.observability.external;
  return {
    fullname: svc,
    natsUrl:
      demo.spec.messaging.nats.mode === 'external'
        ? (demo.spec.messaging.nats.url ?? '')
        : `nats://${svc('nats')}:4222`,
    postgresHost: svc('postgres'),
    prometheusUrl: `http://${svc('prometheus')}:${PROMETHEUS_PORT}`,
    /** Where every service sends OTLP: the demo's Collector, which forwards traces to the backends. */
    otlpEndpoint: `http://${svc('otel-collector')}:${OTLP_HTTP_PORT}`,
    /** The trace backend's query API, for Grafana (undefined for backend none). */
    traceQueryUrl: traceQueryUrl(demo.spec.observability.tracing.backend, svc),
    /** Where the Collector sends traces: the in-cluster backend's OTLP/gRPC receiver and the external endpoint. */
    traceExports: [
      ...(demo.spec.observability.tracing.backend === 'none'
        ? []
        : [
            {
              name: demo.spec.observability.tracing.backend,
              endpoint: `${svc(demo.spec.observability.tracing.backend)}:${OTLP_GRPC_PORT}`,
              protocol: 'grpc',
            },
          ]),
      ...(external.otlpEndpoint
        ? [{ name: 'external', endpoint: external.otlpEndpoint, protocol: 'http' }]
        : []),
    ],
    /** The log store's URL (Loki's OTLP logs endpoint is under /otlp), or undefined for backend none. */
    logsUrl:
      demo.spec.observability.logs.backend === 'loki' ? `http://${svc('loki')}:${LOKI_HTTP_PORT}` : undefined,
    remoteWriteUrl: external.prometheusRemoteWriteUrl
      ? external.prometheusRemoteWriteUrl
      : `http://${svc('prometheus')}:${PROMETHEUS_PORT}/api/v1/write`,
    endpoints: (components: ReadonlySet<string>) => {
      const out: Record<string, string> = {};
      const add = (key: string, port: number) => {
        if (components.has(key)) out[key] = `http://${svc(key)}.${ns}:${port}`;
      };
      add('gateway', 8080);
      add('grafana', 3000);
      add('prometheus', PROMETHEUS_PORT);
      add('tempo', TEMPO_HTTP_PORT);
      add('jaeger', JAEGER_QUERY_PORT);
      add('loki', LOKI_HTTP_PORT);
      return out;
    },
  };
}

/**
 * The labels the demo's Collector adds to every series it remote-writes. The connectors' own labels (client, server,
 * connection_type) are the same in every demo, so without these a Prometheus that receives several demos' service
 * graphs (one shared by an operator outside the cluster, or a remote-write target) could not tell them apart.
 */
export function demoSeriesLabels(demo: DefaultedObservabilityDemo): Record<string, string> {
  return { namespace: demo.metadata?.namespace ?? 'default', obsdemo_instance: demo.metadata?.name ?? '' };
}

function traceQueryUrl(backend: string, svc: (component: string) => string): string | undefined {
  if (backend === 'tempo') return `http://${svc('tempo')}:${TEMPO_HTTP_PORT}`;
  if (backend === 'jaeger') return `http://${svc('jaeger')}:${JAEGER_QUERY_PORT}`;
  return undefined;
}

/**
 * CR → the charts to render and their values. Pure: the same CR gives the same plan, so the render cache and the
 * no-write resync work. `servicesValues` maps the application services (the demo-services chart); `operator` says
 * where the operator runs, so each demo's Prometheus NetworkPolicy admits it.
 */
export function planComponents(
  demo: DefaultedObservabilityDemo,
  servicesValues: (demo: DefaultedObservabilityDemo) => Record<string, unknown>,
  operator: OperatorLocation = { namespace: '', podLabels: {} },
): ComponentPlan[] {
  const { spec } = demo;
  const names = componentNames(demo);
  const networkPolicy = networkPolicyValues(demo, operator);
  const secrets = generatedSecretNames(demo.metadata?.name ?? '');
  const common = (component: string) => ({
    fullnameOverride: names.fullname(component),
    profile: spec.profile,
  });
  const plans: ComponentPlan[] = [];

  if (spec.messaging.nats.mode === 'managed') {
    const js = spec.messaging.nats.jetstream;
    plans.push({
      component: 'nats',
      chart: 'nats',
      values: {
        ...common('nats'),
        replicas: spec.messaging.nats.replicas,
        networkPolicy: networkPolicy.nats,
        // size bounds the volume (file: a PersistentVolume; memory: the pod's emptyDir, gone with the pod), and
        // JetStream keeps its files within three quarters of it, as the chart's defaults do (768MB of 1Gi): the
        // rest is room for its indexes and metadata, so a full store refuses messages instead of a full disk.
        persistence: { enabled: js.storage === 'file', size: String(js.size), whenDeleted: 'Delete' },
        config: { jetstream: { maxFileStore: String(Math.floor((quantityValue(js.size) * 3) / 4)) } },
      },
    });
  }
  if (spec.database.postgres.mode === 'managed') {
    plans.push({
      component: 'postgres',
      chart: 'postgres',
      values: {
        ...common('postgres'),
        networkPolicy: networkPolicy.postgres,
        auth: { existingSecret: secrets.postgres },
        databases: DATABASE_USERS.map((u) => ({ name: u, user: u })),
        persistence: {
          enabled: true,
          size: String(spec.database.postgres.storage),
          // Deleting the demo deletes its StatefulSet (owner reference); the claim follows unless it is retained.
          whenDeleted: spec.database.postgres.retainOnDelete ? 'Retain' : 'Delete',
        },
      },
    });
  }
  const obs = spec.observability;
  if (obs.prometheus.enabled) {
    plans.push({
      component: 'prometheus',
      chart: 'prometheus',
      values: {
        ...common('prometheus'),
        networkPolicy: networkPolicy.prometheus,
        retention: { time: obs.prometheus.retention },
        persistence: { whenDeleted: 'Delete' },
        alerts: { for: obs.prometheus.alertsFor },
      },
    });
  }
  plans.push({
    component: 'collector',
    chart: 'otel-collector',
    values: {
      ...common('otel-collector'),
      networkPolicy: networkPolicy.collector,
      serviceGraphs: { enabled: obs.collector.serviceGraphs },
      spanMetrics: { enabled: obs.collector.spanMetrics },
      remoteWrite: {
        url: obs.collector.serviceGraphs || obs.collector.spanMetrics ? names.remoteWriteUrl : '',
        externalLabels: demoSeriesLabels(demo),
      },
      traces: { backends: names.traceExports },
      logs: {
        backends: names.logsUrl === undefined ? [] : [{ name: 'loki', endpoint: `${names.logsUrl}/otlp` }],
      },
    },
  });
  if (obs.tracing.backend === 'tempo' || obs.tracing.backend === 'jaeger') {
    const backend = obs.tracing.backend;
    plans.push({
      component: backend,
      chart: backend,
      values: {
        ...common(backend),
        networkPolicy: networkPolicy[backend],
        ...(backend === 'tempo' ? { persistence: { whenDeleted: 'Delete' } } : {}),
      },
    });
  }
  if (obs.logs.backend === 'loki') {
    plans.push({
      component: 'loki',
      chart: 'loki',
      values: {
        ...common('loki'),
        networkPolicy: networkPolicy.loki,
        retention: obs.logs.retention,
        persistence: { whenDeleted: 'Delete' },
      },
    });
  }
  if (obs.grafana.enabled) {
    plans.push({
      component: 'grafana',
      chart: 'grafana',
      values: {
        ...common('grafana'),
        networkPolicy: networkPolicy.grafana,
        admin: { existingSecret: secrets.grafana },
        datasources: {
          prometheus: { url: names.prometheusUrl },
          traces:
            names.traceQueryUrl === undefined
              ? { enabled: false }
              : { enabled: true, type: obs.tracing.backend, url: names.traceQueryUrl },
          logs: names.logsUrl === undefined ? { enabled: false } : { enabled: true, url: names.logsUrl },
        },
      },
    });
  }
  plans.push({
    component: 'services',
    chart: 'demo-services',
    values: { ...servicesValues(demo), networkPolicy: networkPolicy.services },
  });
  return plans;
}
