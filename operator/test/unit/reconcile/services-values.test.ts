import { describe, expect, it } from '@jest/globals';
import type { DefaultedObservabilityDemo } from '../../../src/api/index.js';
import { planComponents, withComponentDefaults } from '../../../src/reconcile/plan.js';
import { servicesValues } from '../../../src/reconcile/services-values.js';

const service = (extra: Record<string, unknown> = {}) => ({
  enabled: true,
  replicas: 1,
  image: { pullPolicy: 'IfNotPresent' },
  ...extra,
});

function demo(
  overrides: {
    postgres?: Record<string, unknown>;
    faults?: unknown[];
    grafana?: boolean;
    backend?: 'tempo' | 'jaeger' | 'none';
    logs?: 'loki' | 'none';
    external?: Record<string, string>;
  } = {},
): DefaultedObservabilityDemo {
  return {
    apiVersion: 'obsdemo.dev/v1alpha1',
    kind: 'ObservabilityDemo',
    metadata: { name: 'shop', namespace: 'demo', uid: 'u', generation: 1 },
    spec: {
      paused: false,
      profile: 'small',
      faults: overrides.faults ?? [],
      services: {
        catalog: service({ cache: { enabled: true, maxEntries: 500, ttlSeconds: 30 } }),
        processor: service(),
        invoices: service(),
        gateway: service({ rateLimit: { requestsPerSecond: 50, burst: 100 }, auth: { mode: 'none' } }),
        loadgen: service({
          requestsPerSecond: 5,
          mix: { browse: 60, order: 20, analytics: 15, enrich: 5, batch: 0 },
        }),
      },
      messaging: { nats: { mode: 'managed', replicas: 1, jetstream: { storage: 'file', size: '1Gi' } } },
      database: {
        postgres: { mode: 'managed', storage: '1Gi', retainOnDelete: false, ...overrides.postgres },
      },
      observability: {
        tracing: { samplingRatio: 0.5, backend: overrides.backend ?? 'tempo' },
        logs: { backend: overrides.logs ?? 'none', retention: '48h' },
        prometheus: { enabled: true, retention: '6h', alertsFor: '5m' },
        collector: { serviceGraphs: true, spanMetrics: true },
        grafana: { enabled: overrides.grafana ?? true },
        external: overrides.external ?? {},
      },
      networkPolicy: { enabled: true },
    },
  } as unknown as DefaultedObservabilityDemo;
}

type Svc = { config: Record<string, string>; env: { name: string; valueFrom?: unknown }[] };
const svc = (values: Record<string, unknown>, name: string) =>
  (values.services as Record<string, Svc>)[name]!;

describe('servicesValues', () => {
  it('maps the CR to each service: cache, rate limit, traffic mix, faults and tracing', () => {
    const v = servicesValues(
      demo({ faults: [{ service: 'catalog', type: 'latency', latencyMs: 300, percent: 20 }] }),
    );
    expect(svc(v, 'catalog').config).toMatchObject({
      CACHE_ENABLED: 'true',
      CACHE_MAX_ENTRIES: '500',
      CACHE_TTL_SECONDS: '30',
      FAULT_LATENCY_MS: '300',
      FAULT_LATENCY_PERCENT: '20',
      FAULT_ERROR_PERCENT: '0',
    });
    expect(svc(v, 'gateway').config).toMatchObject({
      RATE_LIMIT_RPS: '50',
      RATE_LIMIT_BURST: '100',
      AUTH_MODE: 'none',
    });
    expect(svc(v, 'loadgen').config).toEqual({
      LOADGEN_RPS: '5',
      LOADGEN_MIX: 'browse=60,order=20,analytics=15,enrich=5,batch=0',
    });
    expect(v.tracing).toEqual({
      enabled: true,
      otlpEndpoint: 'http://shop-otel-collector:4318',
      samplingRatio: 0.5,
    });
    expect(v.postgres).toEqual({ host: 'shop-postgres', secretName: 'shop-postgres-auth' });
  });

  it("splits loadgen's total rate between its replicas, each of which sends LOADGEN_RPS", () => {
    const rate = (replicas: number | undefined, requestsPerSecond: number) => {
      const d = demo();
      Object.assign(d.spec.services.loadgen, { replicas, requestsPerSecond });
      return svc(servicesValues(d), 'loadgen').config.LOADGEN_RPS;
    };
    expect(rate(1, 5)).toBe('5');
    expect(rate(2, 5)).toBe('2.5');
    expect(rate(3, 5)).toBe('1.667');
    expect(rate(undefined, 5)).toBe('5');
    expect(rate(0, 5)).toBe('5');
    expect(rate(4, 0)).toBe('0');
  });

  it('takes an external database from the user Secret, by reference only', () => {
    const v = servicesValues(demo({ postgres: { mode: 'external', secretRef: { name: 'my-db' } } }));
    for (const name of ['catalog', 'processor', 'invoices']) {
      expect(svc(v, name).env).toEqual(
        expect.arrayContaining([
          { name: 'DB_HOST', valueFrom: { secretKeyRef: { name: 'my-db', key: 'host' } } },
          { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'my-db', key: 'password' } } },
        ]),
      );
    }
    expect(svc(v, 'gateway').env).toEqual([]);
    expect(JSON.stringify(v)).not.toMatch(/password"\s*:\s*"[^"]/i);
  });
});

describe('planComponents', () => {
  it('renders postgres only when managed, grafana only when enabled, with explicit names and generated secrets', () => {
    const plans = planComponents(
      demo({ postgres: { mode: 'external', secretRef: { name: 'my-db' } }, grafana: false }),
      servicesValues,
    );
    expect(plans.map((p) => p.component)).toEqual(['nats', 'prometheus', 'collector', 'tempo', 'services']);
    const managed = planComponents(demo(), servicesValues);
    const grafana = managed.find((p) => p.component === 'grafana');
    expect(grafana?.values).toMatchObject({
      fullnameOverride: 'shop-grafana',
      admin: { existingSecret: 'shop-grafana-admin' },
      datasources: {
        prometheus: { url: 'http://shop-prometheus:9090' },
        traces: { enabled: true, type: 'tempo', url: 'http://shop-tempo:3200' },
      },
    });
    expect(managed.find((p) => p.component === 'prometheus')?.values).toMatchObject({
      retention: { time: '6h' },
      alerts: { for: '5m' },
    });
    expect(managed.find((p) => p.component === 'collector')?.values).toMatchObject({
      fullnameOverride: 'shop-otel-collector',
      serviceGraphs: { enabled: true },
      spanMetrics: { enabled: true },
      remoteWrite: {
        url: 'http://shop-prometheus:9090/api/v1/write',
        externalLabels: { namespace: 'demo', obsdemo_instance: 'shop' },
      },
      traces: { backends: [{ name: 'tempo', endpoint: 'shop-tempo:4317', protocol: 'grpc' }] },
    });
    expect(managed.find((p) => p.component === 'tempo')?.values).toMatchObject({
      fullnameOverride: 'shop-tempo',
    });
  });

  it('with logs.backend loki runs Loki, the Collector sends the logs there and Grafana gets its data source', () => {
    const plans = planComponents(demo({ logs: 'loki' }), servicesValues);
    expect(plans.map((p) => p.component)).toEqual([
      'nats',
      'postgres',
      'prometheus',
      'collector',
      'tempo',
      'loki',
      'grafana',
      'services',
    ]);
    expect(plans.find((p) => p.component === 'loki')?.values).toMatchObject({
      fullnameOverride: 'shop-loki',
      retention: '48h',
      networkPolicy: { enabled: true },
      persistence: { whenDeleted: 'Delete' },
    });
    expect(plans.find((p) => p.component === 'collector')?.values.logs).toEqual({
      backends: [{ name: 'loki', endpoint: 'http://shop-loki:3100/otlp' }],
    });
    expect(plans.find((p) => p.component === 'grafana')?.values.datasources).toMatchObject({
      logs: { enabled: true, url: 'http://shop-loki:3100' },
    });
    expect(plans.find((p) => p.component === 'services')?.values.logs).toEqual({ otlp: true });
  });

  it('with logs.backend none keeps logs on stdout: no Loki, no logs pipeline, no Loki data source', () => {
    const plans = planComponents(demo({ logs: 'none' }), servicesValues);
    expect(plans.map((p) => p.component)).not.toContain('loki');
    expect(plans.find((p) => p.component === 'collector')?.values.logs).toEqual({ backends: [] });
    expect(plans.find((p) => p.component === 'grafana')?.values.datasources).toMatchObject({
      logs: { enabled: false },
    });
    expect(plans.find((p) => p.component === 'services')?.values.logs).toEqual({ otlp: false });
  });

  it('stores traces in Jaeger when the CR says so, with the matching Grafana data source', () => {
    const plans = planComponents(demo({ backend: 'jaeger' }), servicesValues);
    expect(plans.map((p) => p.component)).toEqual([
      'nats',
      'postgres',
      'prometheus',
      'collector',
      'jaeger',
      'grafana',
      'services',
    ]);
    expect(plans.find((p) => p.component === 'collector')?.values.traces).toEqual({
      backends: [{ name: 'jaeger', endpoint: 'shop-jaeger:4317', protocol: 'grpc' }],
    });
    expect(plans.find((p) => p.component === 'grafana')?.values.datasources).toMatchObject({
      traces: { enabled: true, type: 'jaeger', url: 'http://shop-jaeger:16686' },
    });
  });

  it('with backend none keeps no trace store: the Collector forwards traces only to the external endpoint', () => {
    const plans = planComponents(
      demo({ backend: 'none', external: { otlpEndpoint: 'https://otlp.example.com:4318' } }),
      servicesValues,
    );
    expect(plans.map((p) => p.component)).not.toContain('tempo');
    expect(plans.map((p) => p.component)).not.toContain('jaeger');
    expect(plans.find((p) => p.component === 'collector')?.values.traces).toEqual({
      backends: [{ name: 'external', endpoint: 'https://otlp.example.com:4318', protocol: 'http' }],
    });
    expect(plans.find((p) => p.component === 'grafana')?.values.datasources).toMatchObject({
      traces: { enabled: false },
    });
  });

  it('writes no metrics from the Collector when both service graphs and span metrics are off', () => {
    const d = demo();
    d.spec.observability.collector.serviceGraphs = false;
    d.spec.observability.collector.spanMetrics = false;
    const collector = planComponents(d, servicesValues).find((p) => p.component === 'collector');
    expect(collector?.values).toMatchObject({
      serviceGraphs: { enabled: false },
      spanMetrics: { enabled: false },
      remoteWrite: { url: '' },
    });
  });
});

describe('withComponentDefaults', () => {
  it('starts each chart from its configured defaults and lets what the CR implies win', () => {
    const plans = withComponentDefaults(planComponents(demo(), servicesValues), {
      postgres: { image: { repository: 'mirror/postgres', tag: 'local' }, persistence: { size: '9Gi' } },
      'otel-collector': { image: { repository: 'mirror/otelcol' } },
    });
    expect(plans.find((p) => p.chart === 'postgres')?.values).toMatchObject({
      image: { repository: 'mirror/postgres', tag: 'local' },
      // The CR's database.postgres.storage, not the default's.
      persistence: { enabled: true, size: '1Gi' },
      fullnameOverride: 'shop-postgres',
    });
    expect(plans.find((p) => p.chart === 'otel-collector')?.values).toMatchObject({
      image: { repository: 'mirror/otelcol' },
      serviceGraphs: { enabled: true },
    });
    // Charts without defaults are untouched.
    expect(plans.find((p) => p.chart === 'nats')).toEqual(
      planComponents(demo(), servicesValues).find((p) => p.chart === 'nats'),
    );
  });
});

describe('volume claims when the demo is deleted', () => {
  const whenDeleted = (plans: ReturnType<typeof planComponents>) =>
    Object.fromEntries(
      plans
        .filter(
          (p) => (p.values.persistence as { whenDeleted?: string } | undefined)?.whenDeleted !== undefined,
        )
        .map((p) => [p.chart, (p.values.persistence as { whenDeleted: string }).whenDeleted]),
    );

  it('deletes every claim of the demo with it by default', () => {
    expect(whenDeleted(planComponents(demo(), servicesValues))).toEqual({
      nats: 'Delete',
      postgres: 'Delete',
      prometheus: 'Delete',
      tempo: 'Delete',
    });
  });

  it("keeps Postgres's claim with database.postgres.retainOnDelete", () => {
    const d = demo({ postgres: { retainOnDelete: true } });
    expect(whenDeleted(planComponents(d, servicesValues)).postgres).toBe('Retain');
  });
});

describe('autoscaling', () => {
  const chartValues = (values: Record<string, unknown>, name: string) =>
    (values.services as Record<string, { replicas: number; autoscaling?: unknown }>)[name]!;

  it("passes a service's autoscaling to the chart's HorizontalPodAutoscaler values", () => {
    const d = demo();
    const { replicas: _fixed, ...gateway } = d.spec.services.gateway;
    d.spec.services.gateway = {
      ...gateway,
      autoscaling: { minReplicas: 2, maxReplicas: 7, targetCPUUtilization: 65 },
    };
    const values = servicesValues(d);
    expect(chartValues(values, 'gateway').autoscaling).toEqual({
      enabled: true,
      minReplicas: 2,
      maxReplicas: 7,
      targetCPUUtilizationPercentage: 65,
    });
    expect(chartValues(values, 'catalog').autoscaling).toEqual({ enabled: false });
  });

  it('runs one pod of a service whose replicas are unset and that has no autoscaling', () => {
    const d = demo();
    const { replicas: _fixed, ...processor } = d.spec.services.processor;
    d.spec.services.processor = processor;
    expect(chartValues(servicesValues(d), 'processor')).toMatchObject({
      replicas: 1,
      autoscaling: { enabled: false },
    });
  });

  it('sends no autoscaling for invoices and loadgen, which have none in the CRD', () => {
    const values = servicesValues(demo());
    expect(chartValues(values, 'invoices')).not.toHaveProperty('autoscaling');
    expect(chartValues(values, 'loadgen')).not.toHaveProperty('autoscaling');
  });
});

describe('NATS clustering', () => {
  const withNats = (nats: Record<string, unknown>) => {
    const d = demo();
    (d.spec.messaging as { nats: unknown }).nats = nats;
    return d;
  };

  it('runs spec.messaging.nats.replicas servers and keeps the ORDERS stream on each of them', () => {
    const d = withNats({ mode: 'managed', replicas: 3, jetstream: { storage: 'file', size: '1Gi' } });
    const plans = planComponents(d, servicesValues);
    expect(plans.find((p) => p.chart === 'nats')?.values).toMatchObject({ replicas: 3 });
    expect(plans.find((p) => p.chart === 'demo-services')?.values).toMatchObject({
      nats: { url: 'nats://shop-nats:4222', streamReplicas: 3 },
    });
  });

  it('keeps one copy on an external server, whose size the CR does not describe', () => {
    const d = withNats({ mode: 'external', url: 'nats://nats.messaging:4222', replicas: 5, jetstream: {} });
    const plans = planComponents(d, servicesValues);
    expect(plans.find((p) => p.chart === 'nats')).toBeUndefined();
    expect(servicesValues(d).nats).toEqual({ url: 'nats://nats.messaging:4222', streamReplicas: 1 });
  });
});
