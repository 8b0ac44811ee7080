import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  eventually,
  startCollector,
  startJaeger,
  startPrometheus,
  type CollectorServer,
  type JaegerServer,
  type PrometheusServer,
  type VectorSample,
} from '@obsdemo/testenv';

// The Collector's servicegraph connector pairs CLIENT/SERVER (and PRODUCER/CONSUMER) spans as they arrive and
// flushes its counters periodically; the prometheusremotewrite exporter sends each flush. A new counter can need
// two flushes to carry a count, so the waits below allow several times the flush interval.
const GENERATOR_WAIT_MS = 120_000;

// In-cluster addresses the chart is rendered with, and the local processes that stand in for them.
const CLUSTER_JAEGER = 'jaeger:4317';
const CLUSTER_REMOTE_WRITE = 'http://prometheus:9090/api/v1/write';

let prometheus: PrometheusServer;
let jaeger: JaegerServer;
let collector: CollectorServer;

beforeAll(async () => {
  prometheus = await startPrometheus();
  jaeger = await startJaeger();
  collector = await startCollector({
    chartValues: {
      remoteWrite: { url: CLUSTER_REMOTE_WRITE },
      traces: { backends: [{ name: 'jaeger', endpoint: CLUSTER_JAEGER, protocol: 'grpc' }] },
      // The chart sends logs to the release's Loki by default; there is no Loki here (AGPL, never built).
      logs: { backends: [] },
    },
    resolve: (endpoint) => {
      if (endpoint === CLUSTER_JAEGER) return jaeger.otlpGrpcAddress;
      if (endpoint === CLUSTER_REMOTE_WRITE) return prometheus.remoteWriteUrl;
      throw new Error(`no local stand-in for ${endpoint}`);
    },
  });
}, 180_000);

afterAll(async () => {
  await collector?.stop();
  await jaeger?.stop();
  await prometheus?.stop();
});

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const SERVER = 2;
const CLIENT = 3;
const PRODUCER = 4;
const CONSUMER = 5;

interface SpanSpec {
  service: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: Record<string, string>;
}

/** OTLP/HTTP JSON, as an OpenTelemetry SDK sends it: ids in hex, times in nanoseconds as strings. */
function otlpRequest(traceId: string, spans: readonly SpanSpec[]): unknown {
  // Recent spans, as a live SDK sends them.
  const endNs = BigInt(Date.now()) * 1_000_000n;
  const startNs = endNs - 50_000_000n;
  const services = [...new Set(spans.map((s) => s.service))];
  return {
    resourceSpans: services.map((service) => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
      scopeSpans: [
        {
          scope: { name: 'observability.test' },
          spans: spans
            .filter((s) => s.service === service)
            .map((s) => ({
              traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId ?? '',
              name: s.name,
              kind: s.kind,
              startTimeUnixNano: startNs.toString(),
              endTimeUnixNano: endNs.toString(),
              attributes: Object.entries(s.attributes ?? {}).map(([key, value]) => ({
                key,
                value: { stringValue: value },
              })),
              status: {},
            })),
        },
      ],
    })),
  };
}

async function sendTrace(traceId: string, spans: readonly SpanSpec[]): Promise<void> {
  const res = await fetch(`${collector.otlpHttpUrl}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(otlpRequest(traceId, spans)),
  });
  expect(res.status).toBe(200);
}

/** The samples of `promql` once at least one has a value ≥ 1, else undefined (for `eventually`). */
async function counted(promql: string): Promise<VectorSample[] | undefined> {
  const samples = await prometheus.query(promql);
  return samples.some((s) => s.value >= 1) ? samples : undefined;
}

describe('local observability backends configured from the charts', () => {
  it('runs the Collector and Jaeger with the chart-rendered configs, moved to loopback', () => {
    const config = readFileSync(collector.configFile, 'utf8');
    expect(config).toContain(prometheus.remoteWriteUrl);
    expect(config).toContain(jaeger.otlpGrpcAddress);
    expect(config).not.toContain(CLUSTER_JAEGER);
    expect(config).not.toContain('0.0.0.0');
    expect(config).toMatch(/servicegraph/);
    expect(config).toMatch(/spanmetrics/);
    expect(readFileSync(jaeger.configFile, 'utf8')).not.toContain('0.0.0.0');
  });

  it('loads the chart alert rules into Prometheus', async () => {
    const res = await fetch(`${prometheus.url}/api/v1/rules`);
    const body = (await res.json()) as { data: { groups: { name: string; rules: { name: string }[] }[] } };
    const rules = body.data.groups.flatMap((g) => g.rules.map((r) => r.name));
    expect(rules).toEqual(expect.arrayContaining(['HighErrorRate', 'HighLatencyP95', 'ServiceDown']));
  });

  it('rejects a malformed PromQL query with the error Prometheus gives', async () => {
    await expect(prometheus.query('sum(')).rejects.toThrow(/parse error/);
  });

  it('derives service-graph edges and span metrics from CLIENT→SERVER and PRODUCER→CONSUMER pairs', async () => {
    const traceId = hex(16);
    const client = hex(8);
    const server = hex(8);
    const producer = hex(8);
    const consumer = hex(8);
    const spans: SpanSpec[] = [
      { service: 'a', spanId: client, name: 'GET /orders', kind: CLIENT },
      { service: 'b', spanId: server, parentSpanId: client, name: 'GET /orders', kind: SERVER },
      {
        service: 'b',
        spanId: producer,
        parentSpanId: server,
        name: 'orders publish',
        kind: PRODUCER,
        attributes: { 'messaging.system': 'nats' },
      },
      {
        service: 'c',
        spanId: consumer,
        parentSpanId: producer,
        name: 'orders process',
        kind: CONSUMER,
        attributes: { 'messaging.system': 'nats' },
      },
    ];
    await sendTrace(traceId, spans);

    const http = await eventually(
      'the a→b edge in Prometheus',
      () => counted('traces_service_graph_request_total{client="a",server="b"}'),
      GENERATOR_WAIT_MS,
    );
    expect(http[0]?.metric).toMatchObject({ client: 'a', server: 'b' });
    expect(http[0]?.metric.connection_type ?? '').toBe('');

    const messaging = await eventually(
      'the b→c messaging edge in Prometheus',
      () => counted('traces_service_graph_request_total{client="b",server="c"}'),
      GENERATOR_WAIT_MS,
    );
    expect(messaging[0]?.metric.connection_type).toBe('messaging_system');

    const calls = await eventually(
      'span metrics of service b',
      () => counted('sum by (service) (traces_spanmetrics_calls_total{service="b"})'),
      GENERATOR_WAIT_MS,
    );
    expect(calls[0]?.value).toBeGreaterThanOrEqual(1);

    const trace = await eventually('the trace in Jaeger', async () => {
      const found = await jaeger.trace(traceId);
      return found !== undefined && found.length === spans.length ? found : undefined;
    });
    const byId = new Map(trace.map((s) => [s.spanId, s]));
    expect(byId.get(server)).toMatchObject({ serviceName: 'b', parentSpanId: client, kind: SERVER, traceId });
    expect(byId.get(client)).toMatchObject({ serviceName: 'a', parentSpanId: '', kind: CLIENT });
    expect(byId.get(consumer)).toMatchObject({
      serviceName: 'c',
      parentSpanId: producer,
      kind: CONSUMER,
      attributes: { 'messaging.system': 'nats' },
    });
  });

  it('scrapes given targets in place of the chart pod discovery, with the labels its relabelling sets', async () => {
    const scraper = await startPrometheus({
      chartValues: { scrapeInterval: '1s' },
      scrapeTargets: [
        {
          job: 'otel-collector',
          address: new URL(collector.metricsUrl).host,
          labels: { namespace: 'local', pod: 'otel-collector-0' },
        },
      ],
    });
    try {
      const up = await eventually('a scrape of the Collector', async () => {
        const samples = await scraper.query('up{job="otel-collector"}');
        return samples.length > 0 ? samples : undefined;
      });
      expect(up[0]?.metric).toMatchObject({
        job: 'otel-collector',
        namespace: 'local',
        pod: 'otel-collector-0',
      });
      expect(up[0]?.value).toBe(1);
      const self = await eventually('a self-scrape', async () => {
        const samples = await scraper.query('up{job="prometheus"}');
        return samples.length > 0 ? samples : undefined;
      });
      expect(self[0]?.value).toBe(1);
    } finally {
      await scraper.stop();
    }
  });

  it('answers undefined for a trace it never received', async () => {
    expect(await jaeger.trace(hex(16))).toBeUndefined();
  });
});
