import type { DefaultedObservabilityDemo } from '../api/index.js';
import { networkPolicyValues, type OperatorLocation } from './network-policy.js';

/** One chart to render for a demo, with the values the CR implies. */
export interface ComponentPlan {
  component: 'nats' | 'postgres' | 'prometheus' | 'tempo' | 'grafana' | 'services';
  chart: string;
  values: Record<string, unknown>;
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
    tempoUrl: `http://${svc('tempo')}:3200`,
    otlpEndpoint: external.otlpEndpoint ? external.otlpEndpoint : `http://${svc('tempo')}:4318`,
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
      add('tempo', 3200);
      return out;
    },
  };
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
        networkPolicy: networkPolicy.nats,
        persistence: { enabled: js.storage === 'file', size: String(js.size) },
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
        persistence: { enabled: true, size: String(spec.database.postgres.storage) },
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
        alerts: { for: obs.prometheus.alertsFor },
      },
    });
  }
  if (obs.tempo.enabled) {
    const processors = [
      ...(obs.tempo.serviceGraphs ? ['service-graphs'] : []),
      ...(obs.tempo.spanMetrics ? ['span-metrics'] : []),
    ];
    plans.push({
      component: 'tempo',
      chart: 'tempo',
      values: {
        ...common('tempo'),
        networkPolicy: networkPolicy.tempo,
        // The chart's schema wants at least one processor even when the generator is off.
        metricsGenerator:
          processors.length > 0
            ? { enabled: true, processors, remoteWriteUrl: names.remoteWriteUrl }
            : { enabled: false },
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
        datasources: { prometheus: { url: names.prometheusUrl }, tempo: { url: names.tempoUrl } },
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
